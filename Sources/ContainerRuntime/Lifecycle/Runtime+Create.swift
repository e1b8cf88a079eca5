#if canImport(Glibc)
import Glibc
#endif
import CShim
import LinuxSupport
import OCISpec

extension Runtime {
    /// At most this many bind sources are passed to a user-namespaced init as descriptors (one
    /// SCM_RIGHTS message holds 253 with the others); further ones are mounted by path.
    static let maxBindSourceFDs = 200

    /// Sets up a container and leaves its init waiting just before the user program (status
    /// `created`). On any failure nothing is left behind: no state, cgroup or process.
    @discardableResult
    public func create(id: String, bundle: String, options: CreateOptions) throws -> ContainerRecord {
        RuntimeTrace.mark("create: start")
        try StateStore.validate(id: id)
        let layout = try CgroupLayout.detect()
        let loaded = try BundleLoader.load(bundle: bundle)
        let spec = loaded.spec
        guard let process = spec.process else { throw RuntimeError.invalidConfig("process is missing") }
        let appArmorProfile = try SecurityModules.check(
            process: process, mountLabel: spec.linux?.mountLabel,
            annotations: spec.annotations, host: .detect())
        RuntimeTrace.mark("create: bundle loaded")
        let namespaces = spec.linux?.namespaces ?? []
        // Moving a process into a cgroup by pid waits for the kernel's threadgroup lock (an RCU
        // grace period, the longest step of a create). Without a user namespace nobody has to:
        // the kernel clones init into the cgroup2 directory (clone3 CLONE_INTO_CGROUP) and init
        // moves its own thread into the v1 hierarchies, which skips that lock. In a new or joined
        // user namespace init's root may not write to the host's cgroups: the runtime moves it,
        // and starts the lock's grace period right away.
        let initJoinsItself = !namespaces.contains { $0.type == .user }
        if !initJoinsItself { CgroupMigrationWarmup.begin(layout: layout) }
        let cgroup = try Cgroup.resolve(layout: layout, cgroupsPath: try cgroupsPath(spec.linux?.cgroupsPath, id: id))
        try store.reserve(id: id)
        // The record is written before the cgroup exists (with pid 0 when the cgroup2 directory
        // must exist before init) and again once init's pid is known, so a `create` killed at any
        // moment leaves enough for `delete --force` to clean up; before that there is only the
        // directory, which `delete --force` removes too.
        var record = ContainerRecord(
            id: id, bundle: loaded.bundle, rootfs: loaded.rootfs, pid: 0, startTime: 0, created: Timestamp.now(),
            cgroup: cgroup, spec: spec, ownPidNamespace: spec.linux?.namespaces?.contains { $0.type == .pid && $0.path == nil } ?? false)

        // Without a mount namespace of its own the container's root is a mount in ours.
        let rootfsMountPoint = namespaces.contains { $0.type == .mount } ? nil : store.rootfsMountPoint(for: id)
        var pid: Int32 = 0
        var cgroupCreated = false
        var cgroupSetup: CgroupSetup?
        var descriptors: [Int32] = []
        defer { for fd in descriptors { close(fd) } }
        do {
            if rootfsMountPoint != nil { try store.makeRootfsMountPoint(id: id) }
            let fifo = store.creatingFifoPath(for: id)
            try sysCall("mkfifo \(fifo)") { mkfifo(fifo, 0o600) }
            // O_RDWR opens a fifo without waiting for a writer; init blocks reading it until `start`.
            let fifoFD = try sysCall("open \(fifo)") { open(fifo, O_RDWR | O_CLOEXEC) }
            descriptors.append(fifoFD)

            var mountNamespaceFD: Int32 = -1
            if let path = namespaces.first(where: { $0.type == .mount })?.path {
                mountNamespaceFD = try sysCall("open mount namespace \(path)") { open(path, O_RDONLY | O_CLOEXEC) }
                descriptors.append(mountNamespaceFD)
            }
            var consoleFD: Int32 = options.consoleSocketFD ?? -1
            if consoleFD < 0, let path = options.consoleSocket {
                consoleFD = try Descriptors.connectUnix(path: path)
                descriptors.append(consoleFD)
            }
            if process.terminal == true && consoleFD < 0 {
                throw RuntimeError.invalidConfig("process.terminal is true but no --console-socket was given")
            }
            let seccompFD = try seccompProgramFD(spec)
            if seccompFD >= 0 { descriptors.append(seccompFD) }
            var cgroupFD: Int32 = -1
            if initJoinsItself, let directory = cgroup.unifiedPath {
                // The record goes first (pid 0, which `delete --force` never signals) so a create
                // killed from here on leaves the cgroup findable. On pure cgroup2 this is the whole
                // cgroup; with v1 hierarchies next to it the rest is made while init starts.
                try store.save(record)
                if layout.isPureV2 {
                    // The device filter (an eBPF program to load) follows on the cgroup thread:
                    // init runs only our code until the runtime says the cgroup is ready.
                    try cgroup.create(
                        resources: spec.linux?.resources, devices: spec.linux?.devices ?? [],
                        controllersInUnified: layout.unifiedControllers, includeDevices: false)
                } else {
                    try cgroup.makeUnifiedDirectory()
                }
                cgroupCreated = true
                RuntimeTrace.mark("create: cgroup2 directory made")
                cgroupFD = try sysCall("open \(directory)") { open(directory, skiff_o_path() | O_DIRECTORY | O_CLOEXEC) }
                descriptors.append(cgroupFD)
            }

            let spawned = try InitSpawner.spawn(
                create: namespaces.filter { $0.path == nil && $0.type != .user && $0.type != .cgroup }.map(\.type),
                newUser: namespaces.contains { $0.type == .user && $0.path == nil },
                join: namespaces.compactMap { ns in ns.path.flatMap { ns.type == .mount ? nil : (ns.type, $0) } },
                uidMappings: spec.linux?.uidMappings ?? [], gidMappings: spec.linux?.gidMappings ?? [],
                preserveFDs: options.preserveFDs, executable: initExecutable, spareLayer: store.root, cgroupFD: cgroupFD,
                newTime: namespaces.contains { $0.type == .time && $0.path == nil }, timeOffsets: spec.linux?.timeOffsets ?? [:])
            RuntimeTrace.mark(spawned.placedInCgroup ? "create: init spawned in its cgroup" : "create: init spawned")
            pid = spawned.pid
            descriptors.append(spawned.channel.fd)
            guard let stat = ProcStat.read(pid: pid) else {
                throw RuntimeError.initFailed("container init exited during set-up")
            }
            record.pid = pid
            record.startTime = stat.startTime
            try store.save(record)

            // What is left of the cgroup is made (and init moved by pid where it must be) on
            // another thread while the configuration is encoded and sent.
            let madeBeforeSpawn = initJoinsItself && layout.isPureV2
            let setup = CgroupSetup(
                cgroup: cgroup, pid: pid, resources: spec.linux?.resources, devices: spec.linux?.devices ?? [],
                controllersInUnified: layout.unifiedControllers, create: !madeBeforeSpawn, deviceRulesOnly: madeBeforeSpawn,
                moveV1: !initJoinsItself, moveUnified: !spawned.placedInCgroup)
            cgroupSetup = setup
            // Opened by us (host root) through init's own mount namespace, so the descriptor names
            // init's copy of the mount and init never walks the host's path to it.
            var rootfsFD: Int32 = -1
            let newUserNamespace = namespaces.contains { $0.type == .user && $0.path == nil }
            if newUserNamespace, namespaces.contains(where: { $0.type == .mount && $0.path == nil }), loaded.rootfs.hasPrefix("/") {
                rootfsFD = try sysCall("open the rootfs \(loaded.rootfs) in the container's mount namespace") {
                    open("/proc/\(pid)/root" + loaded.rootfs, skiff_o_path() | O_DIRECTORY | O_CLOEXEC)
                }
                descriptors.append(rootfsFD)
            }
            var bindSourceFDs: [Int32] = []
            var bindSourcePaths: [String] = []
            if rootfsFD >= 0 {
                for mount in spec.mounts ?? [] where MountOptions(mount.options, type: mount.type).isBind {
                    guard var source = mount.source, bindSourceFDs.count < Self.maxBindSourceFDs else { continue }
                    if !source.hasPrefix("/") { source = loaded.bundle + "/" + source }
                    guard !bindSourcePaths.contains(source) else { continue }
                    // A source that cannot be opened is left to init, which reports it by path.
                    let fd = open("/proc/\(pid)/root" + source, skiff_o_path() | O_CLOEXEC)
                    guard fd >= 0 else { continue }
                    descriptors.append(fd)
                    bindSourceFDs.append(fd)
                    bindSourcePaths.append(source)
                }
            }
            var config = InitConfig(
                kind: .container, id: id, bundle: loaded.bundle, rootfs: loaded.rootfs, spec: spec, process: process,
                noPivot: options.noPivot, noNewKeyring: options.noNewKeyring,
                newCgroupNamespace: namespaces.contains { $0.type == .cgroup && $0.path == nil },
                newMountNamespace: namespaces.contains { $0.type == .mount && $0.path == nil },
                newUTSNamespace: namespaces.contains { $0.type == .uts && $0.path == nil },
                newUserNamespace: namespaces.contains { $0.type == .user && $0.path == nil },
                cgroup: cgroup, hasMountNamespaceFD: mountNamespaceFD >= 0, hasConsoleSocket: consoleFD >= 0,
                hasExecFifo: true, hasSeccompProgram: seccompFD >= 0,
                joinsV1Itself: initJoinsItself && !cgroup.v1Paths.isEmpty, appArmorProfile: appArmorProfile,
                rootfsMountPoint: rootfsMountPoint)
            config.hasRootfsFD = rootfsFD >= 0
            config.newNetworkNamespace = namespaces.contains { $0.type == .network && $0.path == nil }
            config.bindSourceFDPaths = bindSourcePaths.isEmpty ? nil : bindSourcePaths
            try spawned.channel.send(.config(config))
            try spawned.channel.sendFDs([mountNamespaceFD, consoleFD, fifoFD, seccompFD, rootfsFD].filter { $0 >= 0 } + bindSourceFDs)
            // Init prepares the rootfs while the cgroup is made; it waits for `cgroupReady` before
            // anything that needs the cgroup.
            RuntimeTrace.mark("create: config sent")
            do {
                try setup.waitCreated()
                cgroupCreated = true
                try spawned.channel.send(.cgroupCreated)
                if let failure = setup.waitDone().failure { throw failure }
                try spawned.channel.send(.cgroupReady)
                RuntimeTrace.mark("create: cgroup ready")
            } catch {
                // If init failed meanwhile, its message explains more than ours (EPIPE, ESRCH).
                Glibc.kill(pid, SIGKILL)
                if case .failed(let message, let execFailure)? = try? spawned.channel.receive() {
                    throw RuntimeError.initFailed(message, execFailure: execFailure)
                }
                throw error
            }
            try waitForInit(spawned.channel, id: id, pid: pid, bundle: loaded.bundle, spec: spec)

            RuntimeTrace.mark("create: init ready")
            try sysCall("rename \(fifo)") { rename(fifo, store.fifoPath(for: id)) }
            if let pidFile = options.pidFile {
                try FileIO.writeReplacing(BundleLoader.absolute(pidFile), Array("\(pid)".utf8))
            }
            return record
        } catch {
            if pid > 0 {
                Glibc.kill(pid, SIGKILL)
                Processes.wait(pid)
            }
            // Never clean up under the cgroup thread: wait for it to know what it made.
            if let cgroupSetup, cgroupSetup.waitDone().created { cgroupCreated = true }
            if cgroupCreated { try? cgroup.destroy() }
            do {
                try store.releaseRootfsMountPoint(id: id)
                store.remove(id: id)
            } catch {
                RuntimeWarnings.emit("\(error): remove it with 'delete --force \(id)'")
            }
            throw error
        }
    }

    /// Serves the init stage until it is ready: runs the prestart and createRuntime hooks when asked.
    func waitForInit(_ channel: InitChannel, id: String, pid: Int32, bundle: String, spec: Spec) throws {
        while true {
            let message: InitMessage
            do {
                message = try channel.receive()
            } catch {
                throw RuntimeError.initFailed("container init exited during set-up (\(error))")
            }
            switch message {
            case .runHooks:
                // "created", as runtime-tools' hooks_stdin expects for prestart and crun passes to
                // prestart and createRuntime alike (createContainer, run by init, gets the same).
                let state = State(id: id, status: .created, pid: pid, bundle: bundle, annotations: spec.annotations)
                do {
                    try HookRunner.run(spec.hooks?.prestart, kind: "prestart", state: state)
                    try HookRunner.run(spec.hooks?.createRuntime, kind: "createRuntime", state: state)
                    try channel.send(.hooksDone)
                } catch {
                    try? channel.send(.hookFailed("\(error)"))
                    throw error
                }
            case .ready:
                return
            case .failed(let message, let execFailure):
                throw RuntimeError.initFailed(message, execFailure: execFailure)
            default:
                throw RuntimeError.initFailed("container init sent an unexpected message")
            }
        }
    }

    /// The cgroup path for a container: config's cgroupsPath, or /<id> by default.
    func cgroupsPath(_ configured: String?, id: String) throws -> String {
        if systemdCgroup {
            throw RuntimeError.unsupported(
                "--systemd-cgroup: skiff-runtime manages cgroups with cgroupfs only; drop the flag (or set the cgroup manager to cgroupfs in podman/containerd)"
            )
        }
        guard let path = configured, !path.isEmpty else { return "/" + id }
        if path.contains(":") && !path.hasPrefix("/") {
            throw RuntimeError.unsupported(
                "cgroupsPath '\(path)' is in systemd slice:prefix:name form, but skiff-runtime uses cgroupfs: give a path such as /skiff/\(id)"
            )
        }
        return path
    }

    /// The compiled seccomp program of the spec as a memfd for init (-1 without a profile).
    func seccompProgramFD(_ spec: Spec) throws -> Int32 {
        guard let profile = spec.linux?.seccomp else { return -1 }
        return try SeccompProgramCache(directory: store.root + "/" + StateStore.seccompCacheName).programFD(for: profile)
    }
}

#if canImport(Glibc)
import Glibc
#endif
import CShim
import LinuxSupport
import OCISpec

extension Runtime {
    /// Options of `exec`, as runc spells them.
    public struct ExecOptions: Sendable {
        public var pidFile: String?
        public var consoleSocket: String?
        public var consoleSocketFD: Int32?
        public var preserveFDs = 0
        public init() {}
    }

    /// The process an `exec` without --process runs: the container's own process settings with
    /// the given args and overrides, as runc builds it.
    public func execProcess(
        id: String, args: [String], tty: Bool, cwd: String?, env: [String], user: String?,
        additionalGids: [UInt32], capabilities: [String], noNewPrivileges: Bool
    ) throws -> Process {
        let record = try store.load(id: id)
        var process = record.spec.process ?? Process()
        process.args = args
        process.terminal = tty
        process.consoleSize = nil
        if let cwd { process.cwd = cwd }
        process.env = (process.env ?? []) + env
        if let user {
            let parts = user.split(separator: ":", maxSplits: 1)
            guard let uid = UInt32(parts[0]), parts.count == 1 || UInt32(parts[1]) != nil else {
                throw RuntimeError.invalidConfig("--user '\(user)' must be UID[:GID] in numbers")
            }
            process.user.uid = uid
            process.user.gid = parts.count == 2 ? UInt32(parts[1]) ?? 0 : 0
            process.user.additionalGids = nil
        }
        if !additionalGids.isEmpty { process.user.additionalGids = additionalGids }
        if !capabilities.isEmpty {
            var caps = process.capabilities ?? Capabilities()
            for set in [\Capabilities.bounding, \.effective, \.permitted, \.inheritable] {
                caps[keyPath: set] = (caps[keyPath: set] ?? []) + capabilities
            }
            process.capabilities = caps
        }
        if noNewPrivileges { process.noNewPrivileges = true }
        return process
    }

    /// Starts `process` inside a running container. Returns the host pid of the new process.
    public func exec(id: String, process: Process, options: ExecOptions) throws -> Int32 {
        let record = try store.load(id: id)
        let status = record.status(store: store)
        guard status == .running || status == .created else {
            throw RuntimeError.wrongState(id: id, status: status.rawValue, wanted: "running")
        }
        // As for create: without a user namespace the process joins the v1 hierarchies itself and
        // is cloned into the cgroup2 directory (unless it first joins the container's cgroup
        // namespace, from which the kernel refuses that); what remains is a move by pid, whose
        // wait for the kernel's threadgroup lock starts now.
        let namespaces = record.spec.linux?.namespaces ?? []
        let joinsItself = !namespaces.contains { $0.type == .user }
        let cgroupDirectory = joinsItself && !namespaces.contains { $0.type == .cgroup } ? record.cgroup?.unifiedPath : nil
        if let cgroup = record.cgroup, !joinsItself || (cgroup.unifiedPath != nil && cgroupDirectory == nil),
            let layout = try? CgroupLayout.detect()
        {
            CgroupMigrationWarmup.begin(layout: layout)
        }
        guard let args = process.args, !args.isEmpty else {
            throw RuntimeError.invalidConfig("exec: no command given")
        }
        try BundleLoader.validateProcess(process)
        let appArmorProfile = try SecurityModules.check(
            process: process, mountLabel: nil,
            annotations: record.spec.annotations, host: .detect())
        var descriptors: [Int32] = []
        defer { for fd in descriptors { close(fd) } }
        let names: [NamespaceType: String] = [
            .pid: "pid", .network: "net", .ipc: "ipc", .uts: "uts", .user: "user", .cgroup: "cgroup", .time: "time",
        ]
        let join: [(NamespaceType, String)] = namespaces.compactMap { ns in
            guard ns.type != .mount, let name = names[ns.type] else { return nil }
            return (ns.type, "/proc/\(record.pid)/ns/\(name)")
        }
        let mountNamespaceFD = try sysCall("open the container's mount namespace") {
            open("/proc/\(record.pid)/ns/mnt", O_RDONLY | O_CLOEXEC)
        }
        descriptors.append(mountNamespaceFD)
        var consoleFD = options.consoleSocketFD ?? -1
        if consoleFD < 0, let path = options.consoleSocket {
            consoleFD = try Descriptors.connectUnix(path: path)
            descriptors.append(consoleFD)
        }
        if process.terminal == true && consoleFD < 0 {
            throw RuntimeError.invalidConfig("exec with a terminal needs --console-socket")
        }
        let seccompFD = try seccompProgramFD(record.spec)
        if seccompFD >= 0 { descriptors.append(seccompFD) }
        var cgroupFD: Int32 = -1
        if let cgroupDirectory {
            cgroupFD = open(cgroupDirectory, skiff_o_path() | O_DIRECTORY | O_CLOEXEC)
            if cgroupFD >= 0 { descriptors.append(cgroupFD) }
        }
        let spawned = try InitSpawner.spawn(
            create: [], newUser: false, join: join, uidMappings: [], gidMappings: [],
            preserveFDs: options.preserveFDs, executable: initExecutable, spareLayer: store.root,
            cgroupFD: cgroupFD)
        descriptors.append(spawned.channel.fd)
        do {
            try record.cgroup?.add(pid: spawned.pid, v1: !joinsItself, unified: !spawned.placedInCgroup)
            var spec = record.spec
            spec.hooks = nil
            let config = InitConfig(
                kind: .exec, id: id, bundle: record.bundle, rootfs: record.rootfs, spec: spec, process: process,
                noPivot: false, noNewKeyring: true, newCgroupNamespace: false, newMountNamespace: false,
                newUTSNamespace: false, newUserNamespace: false, cgroup: record.cgroup,
                hasMountNamespaceFD: true, hasConsoleSocket: consoleFD >= 0, hasExecFifo: false,
                hasSeccompProgram: seccompFD >= 0, joinsV1Itself: joinsItself && !(record.cgroup?.v1Paths.isEmpty ?? true),
                appArmorProfile: appArmorProfile,
                rootfsMountPoint: namespaces.contains { $0.type == .mount } ? nil : store.rootfsMountPoint(for: id))
            try spawned.channel.send(.config(config))
            try spawned.channel.sendFDs([mountNamespaceFD, consoleFD, seccompFD].filter { $0 >= 0 })
            try spawned.channel.send(.cgroupReady)
            try waitForInit(spawned.channel, id: id, pid: spawned.pid, bundle: record.bundle, spec: spec)
            if let pidFile = options.pidFile {
                try FileIO.writeReplacing(BundleLoader.absolute(pidFile), Array("\(spawned.pid)".utf8))
            }
            return spawned.pid
        } catch {
            Glibc.kill(spawned.pid, SIGKILL)
            Processes.wait(spawned.pid)
            throw error
        }
    }
}

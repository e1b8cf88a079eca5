#if canImport(Glibc)
import Glibc
#endif
import CShim
import LinuxSupport
import OCISpec

/// The init stage: the runtime binary re-executed inside the container's namespaces. It finishes
/// the set-up as a fresh single-threaded process, reports back, waits for `start` (containers
/// only) and finally becomes the user's program with execve.
public enum ContainerInit {
    /// Entry point for `skiff-runtime init`; never returns.
    public static func main(socket: Int32) -> Never {
        // Nobody in the container may open /proc/<init>/exe (our binary) while we set up.
        _ = skiff_prctl(PrctlOption.setDumpable, 0, 0, 0, 0)
        _ = skiff_fcntl_int(socket, F_SETFD, FD_CLOEXEC)
        let channel = InitChannel(fd: socket)
        do {
            try run(channel)
        } catch {
            let runtimeError = error as? RuntimeError
            let message = runtimeError?.description ?? "\(error)"
            try? channel.send(.failed(message, execFailure: runtimeError?.execFailure))
            _exit(1)
        }
        _exit(1)
    }

    private static func run(_ channel: InitChannel) throws {
        RuntimeTrace.mark("init: start")
        let syscalls: any InitSyscalls = LinuxInitSyscalls()
        guard case .config(let config) = try channel.receive() else {
            throw RuntimeError.initFailed("init: expected the configuration first")
        }
        let hasSeccompProgram = config.hasSeccompProgram == true
        let count =
            (config.hasMountNamespaceFD ? 1 : 0) + (config.hasConsoleSocket ? 1 : 0) + (config.hasExecFifo ? 1 : 0)
            + (hasSeccompProgram ? 1 : 0) + (config.hasRootfsFD == true ? 1 : 0) + (config.bindSourceFDPaths?.count ?? 0)
        var fds = try channel.receiveFDs(count: count)
        let mountNamespace = config.hasMountNamespaceFD ? fds.removeFirst() : -1
        let consoleSocket = config.hasConsoleSocket ? fds.removeFirst() : -1
        let execFifo = config.hasExecFifo ? fds.removeFirst() : -1
        let seccompProgram = hasSeccompProgram ? fds.removeFirst() : -1
        let rootfsFD = config.hasRootfsFD == true ? fds.removeFirst() : -1
        let bindSources = Dictionary(zip(config.bindSourceFDPaths ?? [], fds), uniquingKeysWith: { first, _ in first })

        // An exec process joins the container's v1 cgroups while the host's /sys/fs/cgroup is
        // still in view (the container's mount namespace usually hides it).
        if config.kind == .exec, config.joinsV1Itself == true, let cgroup = config.cgroup {
            try cgroup.joinV1Hierarchies()
        }
        if mountNamespace >= 0 {
            try sysCall("join the mount namespace") { skiff_setns(mountNamespace, NamespaceFlags.mount) }
            close(mountNamespace)
            // A container that shares the runtime's mount namespace has its root at a mount
            // point in it (joining that namespace put us at its "/").
            if config.kind == .exec, let root = config.rootfsMountPoint {
                try syscalls.chroot(root)
                try syscalls.chdir("/")
            }
        }
        RuntimeTrace.mark("init: config received")
        let setup = ProcessSetup(process: config.process, syscalls: syscalls)
        var rootfs = RootfsSetup(config: config, rootfsFD: rootfsFD, bindSources: bindSources, syscalls: syscalls)
        // The runtime makes the cgroup while init prepares the rootfs: `cgroupCreated` says its
        // directories and limits exist, `cgroupReady` that init has been moved into it (a
        // migration that can take milliseconds, so init goes on as far as it can meanwhile).
        var joined = false
        func waitUntilJoined() throws {
            guard !joined else { return }
            guard case .cgroupReady = try channel.receive() else {
                throw RuntimeError.initFailed("init: expected the cgroup to be ready")
            }
            joined = true
            if config.newCgroupNamespace {
                try sysCall("create the cgroup namespace") { skiff_unshare(NamespaceFlags.cgroup) }
            }
        }

        if config.kind == .exec {
            try waitUntilJoined()
        } else {
            // In a new mount namespace, one joined by path (as runc: its mounts are changed and its
            // root pivoted) or, without either, below a mount point in the runtime's namespace.
            guard config.newMountNamespace || mountNamespace >= 0 || config.rootfsMountPoint != nil else {
                throw RuntimeError.initFailed("init: no mount namespace and no root mount point")
            }
            try rootfs.prepare()
            RuntimeTrace.mark("init: rootfs prepared")
            guard case .cgroupCreated = try channel.receive() else {
                throw RuntimeError.initFailed("init: expected the cgroup to be created")
            }
            if config.joinsV1Itself == true, let cgroup = config.cgroup {
                try cgroup.joinV1Hierarchies()
                RuntimeTrace.mark("init: joined the v1 hierarchies")
            }
            let hooks = config.spec.hooks
            let runtimeHooks = !(hooks?.prestart ?? []).isEmpty || !(hooks?.createRuntime ?? []).isEmpty
            // Hooks see the container in its cgroup; a cgroup2 mount in a cgroup namespace must be
            // made from inside that namespace.
            if runtimeHooks || !(hooks?.createContainer ?? []).isEmpty || (config.cgroup?.pureV2 == true && config.newCgroupNamespace) {
                try waitUntilJoined()
            }
            try rootfs.mountCgroups()
            // prestart and createRuntime hooks run in the runtime's namespaces: ask it, if there are any.
            if runtimeHooks {
                try channel.send(.runHooks)
                switch try channel.receive() {
                case .hooksDone: break
                case .hookFailed(let message): throw RuntimeError.initFailed(message)
                default: throw RuntimeError.initFailed("init: unexpected message while waiting for hooks")
                }
            }
            try HookRunner.run(
                hooks?.createContainer, kind: "createContainer",
                state: State(
                    id: config.id, status: .created, pid: getpid(), bundle: config.bundle,
                    annotations: config.spec.annotations))
            RuntimeTrace.mark("init: before pivot")
            try rootfs.enter()
            try rootfs.finish()
            if config.newNetworkNamespace == true {
                try syscalls.loopbackUp()
            }
            if config.newUTSNamespace {
                if let hostname = config.spec.hostname {
                    try syscalls.setHostname(hostname)
                }
                if let domain = config.spec.domainname {
                    try syscalls.setDomainname(domain)
                }
            }
            if !config.noNewKeyring {
                // A fresh session keyring so containers do not share the host's keys.
                _ = skiff_keyctl_join_session("_ses." + config.id.prefix(32))
            }
            try waitUntilJoined()
            RuntimeTrace.mark("init: joined")
        }

        if consoleSocket >= 0 {
            try Console.setUp(consoleSocket: consoleSocket, size: config.process.consoleSize)
        }
        let cwd = config.process.cwd.isEmpty ? "/" : config.process.cwd
        do {
            try syscalls.chdir(cwd)
        } catch let error as SystemError {
            throw RuntimeError.invalidConfig("process.cwd \(cwd): \(String(cString: strerror(error.errno)))")
        }
        try setup.applyRlimits()
        try setup.applyOOMScore()
        let executable = try setup.resolveExecutable()
        // With no_new_privs the filter goes on last, just before execve; without it, loading needs
        // CAP_SYS_ADMIN, so it must happen before the capabilities are dropped (as runc does).
        let seccomp = config.spec.linux?.seccomp.map { SeccompFilter(profile: $0) }
        let seccompLast = config.process.noNewPrivileges == true
        func loadSeccomp(_ filter: SeccompFilter) throws {
            if seccompProgram >= 0 {
                try SeccompProgram.load(fd: seccompProgram, flags: filter.loadFlags)
                close(seccompProgram)
            } else {
                try filter.load()
            }
        }
        if let seccomp, !seccompLast { try loadSeccomp(seccomp) }
        try setup.dropBoundingSet()
        try setup.applyUser(setgroupsAllowed: setgroupsAllowed())
        // After the user switch the working directory may need the new identity's permissions.
        try? syscalls.chdir(cwd)
        try setup.applyCapabilities()
        // The profile takes effect at execve; set before no_new_privs, which limits transitions.
        if let profile = config.appArmorProfile { try SecurityModules.applyAppArmor(profile) }
        try setup.applyNoNewPrivileges()
        setup.applyUmask()

        RuntimeTrace.mark("init: ready")
        try channel.send(.ready)
        if execFifo >= 0 {
            var byte: UInt8 = 0
            while true {
                let n = read(execFifo, &byte, 1)
                if n == 1 { break }
                if n < 0 && errno == EINTR { continue }
                throw RuntimeError.initFailed("init: the start signal never came")
            }
            // execFifo stays open (close-on-exec): `start` waits for it to close at execve.
            try HookRunner.run(
                config.spec.hooks?.startContainer, kind: "startContainer",
                state: State(
                    id: config.id, status: .running, pid: getpid(), bundle: config.bundle,
                    annotations: config.spec.annotations))
        }
        if let seccomp, seccompLast { try loadSeccomp(seccomp) }
        resetSignals()
        let argv = CStringArray(config.process.args ?? [])
        let envp = CStringArray(config.process.env ?? [])
        withExtendedLifetime((argv, envp)) {
            if config.kind == .container, config.spec.annotations?[InitReaper.annotation] == "true" {
                // `skiff run --init`: this process stays as PID 1 (reaping, forwarding signals) and
                // its child becomes the program.
                _ = skiff_init_reaper_exec(executable, argv.pointers, envp.pointers)
            } else {
                _ = skiff_execve(executable, argv.pointers, envp.pointers)
            }
        }
        // The runtime stopped listening at `ready`: tell the container's stderr, as runc does.
        let code = errno
        let message = "skiff-runtime: exec \(executable): \(String(cString: strerror(code)))\n"
        _ = message.withCString { write(2, $0, strlen($0)) }
        _exit(code == ENOENT ? 127 : 126)
    }

    /// The program starts with default signal dispositions and nothing blocked, whatever the
    /// runtime's caller (containerd, a shell) had ignored or masked.
    private static func resetSignals() {
        for sig in 1..<65 where sig != SIGKILL && sig != SIGSTOP {
            signal(Int32(sig), SIG_DFL)
        }
        var empty = sigset_t()
        sigemptyset(&empty)
        sigprocmask(SIG_SETMASK, &empty, nil)
    }

    /// setgroups is denied in a user namespace whose /proc/self/setgroups says "deny".
    private static func setgroupsAllowed() -> Bool {
        guard let text = try? FileIO.readString("/proc/self/setgroups") else { return true }
        return !text.hasPrefix("deny")
    }
}

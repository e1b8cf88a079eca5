import ContainerRuntime
import LinuxSupport
import OCISpec

/// Builds a container's OCI runtime spec from the image config and the run options with docker's
/// defaults (mounts, capabilities, masked and read-only paths, environment). Pure: the inputs that
/// come from disk (the resolved user) are passed in, so it is unit-tested.
public enum SpecBuilder {
    /// docker's default capability set.
    public static let defaultCapabilities = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
    ]
    /// docker's masked paths (bind-mounted over with /dev/null or an empty read-only tmpfs).
    public static let maskedPaths = [
        "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
    ]
    public static let readonlyPaths = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
    /// docker's device cgroup rules for an unprivileged container: deny everything, then allow
    /// mknod of any device (a node is useless without read/write permission, and images unpack
    /// with them), and read/write/mknod of the standard devices: null, zero, full, random, urandom,
    /// tty, console, ptmx, the pty slaves (major 136) and /dev/net/tun.
    public static let defaultDeviceRules: [Resources.DeviceRule] =
        [
            .init(allow: false, access: "rwm"),
            .init(allow: true, type: "c", access: "m"),
            .init(allow: true, type: "b", access: "m"),
        ]
        + [(1, 3), (1, 5), (1, 7), (1, 8), (1, 9), (5, 0), (5, 1), (5, 2), (10, 200)].map {
            Resources.DeviceRule(allow: true, type: "c", major: $0.0, minor: $0.1, access: "rwm")
        } + [.init(allow: true, type: "c", major: 136, access: "rwm")]
    /// The cgroup all containers' cgroups live under.
    public static let cgroupParent = "/skiff"
    public static let defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    public struct Inputs: Sendable {
        public var id: String
        public var imageName: String
        public var imageConfig: ContainerConfig?
        public var options: RunOptions
        public var user: ResolvedUser
        public var rootfs: String
        /// Host files bind-mounted as the container's /etc/hostname, /etc/hosts, /etc/resolv.conf.
        public var hostnameFile: String?
        public var hostsFile: String?
        public var resolvConfFile: String?
        /// Host directories of the named volumes `-v NAME:/path` uses, by name.
        public var volumePaths: [String: String] = [:]
        /// Host directories of the anonymous volumes (`-v /path`, image Volumes), by container path.
        public var anonymousVolumePaths: [String: String] = [:]
        /// The host's device nodes, given to a --privileged container.
        public var hostDevices: [Device] = []
        /// The container's own user namespace (`--userns=auto`): its ids 0..<size are these host ids.
        public var userNamespace: UserNamespaceMapping?
        /// The profile of `--security-opt seccomp=FILE`, read by the engine.
        public var seccompProfile: SeccompProfile?
        /// The persisted network namespace a bridge-networked container joins.
        public var networkNamespacePath: String?
        /// The namespace files of the containers `--pid/--ipc/--uts container:NAME` join.
        public var sharedNamespacePaths: [NamespaceType: String] = [:]
        /// The host's CPUs and memory nodes, which `--cpus` and `--cpuset-*` are checked against.
        public var host = ResourceLimits.Host.detect()

        public init(id: String, imageName: String, imageConfig: ContainerConfig?, options: RunOptions, user: ResolvedUser, rootfs: String) {
            self.id = id
            self.imageName = imageName
            self.imageConfig = imageConfig
            self.options = options
            self.user = user
            self.rootfs = rootfs
        }
    }

    /// The hostname docker gives: --hostname, else the first 12 characters of the ID.
    public static func hostname(id: String, options: RunOptions) -> String {
        options.hostname ?? String(id.prefix(12))
    }

    /// The environment: image Env, then -e (later wins per name), PATH if neither set one,
    /// HOSTNAME and HOME as docker adds them.
    public static func environment(image: [String]?, overrides: [String], hostname: String, home: String) -> [String] {
        var result: [String] = []
        func set(_ entry: String) {
            let key = entry.split(separator: "=", maxSplits: 1).first.map(String.init) ?? entry
            if let index = result.firstIndex(where: { $0 == key || $0.hasPrefix(key + "=") }) {
                result[index] = entry
            } else {
                result.append(entry)
            }
        }
        if !(image ?? []).contains(where: { $0.hasPrefix("PATH=") }) && !overrides.contains(where: { $0.hasPrefix("PATH=") }) {
            set(defaultPath)
        }
        set("HOSTNAME=" + hostname)
        for entry in image ?? [] { set(entry) }
        for entry in overrides { set(entry) }
        if !result.contains(where: { $0.hasPrefix("HOME=") }) { set("HOME=" + home) }
        return result
    }

    /// /dev/shm's size option: `--shm-size` or docker's 64 MiB.
    static func shmSize(_ options: RunOptions) throws -> String {
        guard let bytes = options.shmSize else { return "65536k" }
        guard bytes > 0 else { throw EngineError.invalidOption("--shm-size must be positive") }
        return "\(bytes)"
    }

    public static func build(_ inputs: Inputs) throws -> Spec {
        let options = inputs.options
        let config = inputs.imageConfig
        let args = CommandLineMerge.merge(
            imageEntrypoint: config?.entrypoint, imageCmd: config?.cmd,
            entrypointOverride: options.entrypoint, arguments: options.arguments)
        guard !args.isEmpty else { throw EngineError.noCommand(image: inputs.imageName) }
        let hostname = hostname(id: inputs.id, options: options)
        var cwd = options.workdir ?? config?.workingDir ?? "/"
        if cwd.isEmpty { cwd = "/" }
        guard cwd.hasPrefix("/") else {
            throw EngineError.invalidOption("the working directory '\(cwd)' is invalid: it must be an absolute path")
        }

        var user = User(
            uid: inputs.user.uid, gid: inputs.user.gid,
            additionalGids: inputs.user.additionalGids.isEmpty ? nil : inputs.user.additionalGids)
        user.umask = 0o022
        let caps = defaultCapabilities
        var env = environment(image: config?.env, overrides: options.env, hostname: hostname, home: inputs.user.home)
        // docker sets TERM for a terminal the image and -e left without one.
        if options.tty && !env.contains(where: { $0.hasPrefix("TERM=") }) { env.append("TERM=xterm") }
        if let adjustment = options.oomScoreAdj, !(-1000...1000).contains(adjustment) {
            throw EngineError.invalidOption("--oom-score-adj \(adjustment): use a value between -1000 and 1000")
        }
        let process = Process(
            terminal: options.tty, user: user, args: args,
            env: env, cwd: cwd,
            capabilities: Capabilities(bounding: caps, effective: caps, permitted: caps),
            rlimits: nil, noNewPrivileges: false, oomScoreAdj: options.oomScoreAdj)

        var mounts: [Mount] = [
            Mount(destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"]),
            Mount(destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"]),
            Mount(
                destination: "/dev/pts", type: "devpts", source: "devpts",
                options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]),
            Mount(destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"]),
            Mount(
                destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["nosuid", "noexec", "nodev", "relatime", "ro"]),
            Mount(destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"]),
            Mount(
                destination: "/dev/shm", type: "tmpfs", source: "shm",
                options: ["nosuid", "noexec", "nodev", "mode=1777", "size=\(try shmSize(options))"]),
        ]
        for (file, destination) in [
            (inputs.resolvConfFile, "/etc/resolv.conf"), (inputs.hostnameFile, "/etc/hostname"), (inputs.hostsFile, "/etc/hosts"),
        ] {
            if let file { mounts.append(Mount(destination: destination, type: "bind", source: file, options: ["rbind", "rprivate"])) }
        }
        let extra = try userMounts(inputs)
        let replaced = Set(extra.map(\.destination))
        mounts = mounts.filter { !replaced.contains($0.destination) } + extra

        var namespaces: [Namespace] = [.init(type: .pid), .init(type: .ipc), .init(type: .uts), .init(type: .mount), .init(type: .cgroup)]
        switch options.network {
        case .none: namespaces.append(.init(type: .network))
        case .bridge, .container: namespaces.append(.init(type: .network, path: inputs.networkNamespacePath))
        case .host: break
        }

        // --pid/--ipc/--uts/--cgroupns: the host's, or another container's.
        namespaces = options.namespaces.apply(to: namespaces, paths: inputs.sharedNamespacePaths)
        var warnings: [String] = []
        let resources = try options.limits.apply(to: Resources(devices: Self.defaultDeviceRules), host: inputs.host, warnings: &warnings)
        for warning in warnings { Diagnostics.warn(warning) }
        if inputs.userNamespace != nil { namespaces.append(.init(type: .user)) }
        var linux = Linux(namespaces: namespaces, resources: resources, maskedPaths: maskedPaths, readonlyPaths: readonlyPaths)
        if let mapping = inputs.userNamespace {
            linux.uidMappings = [IDMapping(containerID: 0, hostID: mapping.hostID, size: mapping.size)]
            linux.gidMappings = [IDMapping(containerID: 0, hostID: mapping.hostID, size: mapping.size)]
        }
        linux.sysctl = try SysctlOption.parse(options.sysctls, hostNetwork: options.network == .host)
        let devices = try DeviceOption.parse(options.devices)
        if !devices.isEmpty {
            linux.devices = devices.map(\.device)
            let rules = (linux.resources?.devices ?? []) + devices.map(\.rule)
            linux.resources?.devices = rules
        }
        linux.cgroupsPath = cgroupParent + "/" + inputs.id
        linux.rootfsPropagation = rootfsPropagation(options)
        var annotations = options.annotations.merging(["org.skiff.image": inputs.imageName]) { $1 }
        if options.initProcess { annotations[InitReaper.annotation] = "true" }
        var spec = Spec(
            process: process, root: Root(path: inputs.rootfs, readonly: options.readOnly),
            // The host's (or another container's) UTS namespace keeps its own name.
            hostname: options.namespaces.uts == .private ? hostname : nil,
            domainname: options.domainname, mounts: mounts, annotations: annotations, linux: linux)
        try applySecurity(&spec, inputs: inputs)
        return spec
    }
}

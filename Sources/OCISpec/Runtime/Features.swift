/// What a runtime supports, as `runc features` prints it (runtime-spec features.md).
public struct Features: Codable, Sendable, Equatable {
    public var ociVersionMin: String
    public var ociVersionMax: String
    public var hooks: [String]
    public var mountOptions: [String]
    public var linux: LinuxFeatures
    public var annotations: [String: String]?

    public init(
        ociVersionMin: String, ociVersionMax: String, hooks: [String], mountOptions: [String],
        linux: LinuxFeatures, annotations: [String: String]? = nil
    ) {
        self.ociVersionMin = ociVersionMin
        self.ociVersionMax = ociVersionMax
        self.hooks = hooks
        self.mountOptions = mountOptions
        self.linux = linux
        self.annotations = annotations
    }

    /// The Linux part of the features document.
    public struct LinuxFeatures: Codable, Sendable, Equatable {
        public var namespaces: [String]
        public var capabilities: [String]
        public var cgroup: Cgroup
        public var seccomp: SeccompFeatures
        public var apparmor: Enabled
        public var selinux: Enabled
        public var intelRdt: Enabled
        public var mountExtensions: MountExtensions

        public init(
            namespaces: [String], capabilities: [String], cgroup: Cgroup, seccomp: SeccompFeatures,
            apparmor: Enabled, selinux: Enabled, intelRdt: Enabled, mountExtensions: MountExtensions
        ) {
            self.namespaces = namespaces
            self.capabilities = capabilities
            self.cgroup = cgroup
            self.seccomp = seccomp
            self.apparmor = apparmor
            self.selinux = selinux
            self.intelRdt = intelRdt
            self.mountExtensions = mountExtensions
        }
    }

    /// Which cgroup versions and drivers are supported.
    public struct Cgroup: Codable, Sendable, Equatable {
        public var v1: Bool
        public var v2: Bool
        public var systemd: Bool
        public var systemdUser: Bool
        public var rdma: Bool
        public init(v1: Bool, v2: Bool, systemd: Bool, systemdUser: Bool, rdma: Bool) {
            self.v1 = v1
            self.v2 = v2
            self.systemd = systemd
            self.systemdUser = systemdUser
            self.rdma = rdma
        }
    }

    /// Seccomp support and the actions, operators and architectures understood.
    public struct SeccompFeatures: Codable, Sendable, Equatable {
        public var enabled: Bool
        public var actions: [String]?
        public var operators: [String]?
        public var archs: [String]?
        public var knownFlags: [String]?
        public var supportedFlags: [String]?
        public init(enabled: Bool, actions: [String]? = nil, operators: [String]? = nil, archs: [String]? = nil) {
            self.enabled = enabled
            self.actions = actions
            self.operators = operators
            self.archs = archs
        }
    }

    /// A plain on/off feature.
    public struct Enabled: Codable, Sendable, Equatable {
        public var enabled: Bool
        public init(enabled: Bool) { self.enabled = enabled }
    }

    /// Mount extensions such as idmapped mounts.
    public struct MountExtensions: Codable, Sendable, Equatable {
        public var idmap: Enabled
        public init(idmap: Enabled) { self.idmap = idmap }
    }
}

/// The Linux-specific part of config.json: namespaces, id mappings, cgroups, devices and paths.
public struct Linux: Codable, Sendable, Equatable {
    public var namespaces: [Namespace]?
    public var uidMappings: [IDMapping]?
    public var gidMappings: [IDMapping]?
    public var devices: [Device]?
    public var cgroupsPath: String?
    public var resources: Resources?
    public var rootfsPropagation: String?
    public var seccomp: Seccomp?
    public var sysctl: [String: String]?
    public var maskedPaths: [String]?
    public var readonlyPaths: [String]?
    public var mountLabel: String?
    public var personality: Personality?
    public var intelRdt: IntelRdt?
    /// Clock offsets of a new time namespace, keyed "monotonic" and "boottime".
    public var timeOffsets: [String: TimeOffset]?

    public init(
        namespaces: [Namespace]? = nil, uidMappings: [IDMapping]? = nil, gidMappings: [IDMapping]? = nil,
        devices: [Device]? = nil, cgroupsPath: String? = nil, resources: Resources? = nil,
        rootfsPropagation: String? = nil, seccomp: Seccomp? = nil, sysctl: [String: String]? = nil,
        maskedPaths: [String]? = nil, readonlyPaths: [String]? = nil
    ) {
        self.namespaces = namespaces
        self.uidMappings = uidMappings
        self.gidMappings = gidMappings
        self.devices = devices
        self.cgroupsPath = cgroupsPath
        self.resources = resources
        self.rootfsPropagation = rootfsPropagation
        self.seccomp = seccomp
        self.sysctl = sysctl
        self.maskedPaths = maskedPaths
        self.readonlyPaths = readonlyPaths
    }
}

/// How far a time namespace's clock is ahead of the host's (negative: behind).
public struct TimeOffset: Codable, Sendable, Equatable {
    public var secs: Int64?
    public var nanosecs: UInt32?
    public init(secs: Int64? = nil, nanosecs: UInt32? = nil) {
        self.secs = secs
        self.nanosecs = nanosecs
    }
}

/// A namespace to create (no path) or to join (path to a `/proc/PID/ns/*` file).
public struct Namespace: Codable, Sendable, Equatable {
    public var type: NamespaceType
    public var path: String?
    public init(type: NamespaceType, path: String? = nil) {
        self.type = type
        self.path = path
    }
}

/// The namespace kinds the runtime spec names.
public enum NamespaceType: String, Codable, Sendable, CaseIterable {
    case pid, network, mount, ipc, uts, user, cgroup, time
}

/// A device node to create in the container's /dev.
public struct Device: Codable, Sendable, Equatable {
    public var type: String
    public var path: String
    public var major: Int64?
    public var minor: Int64?
    public var fileMode: UInt32?
    public var uid: UInt32?
    public var gid: UInt32?
    public init(
        type: String, path: String, major: Int64? = nil, minor: Int64? = nil,
        fileMode: UInt32? = nil, uid: UInt32? = nil, gid: UInt32? = nil
    ) {
        self.type = type
        self.path = path
        self.major = major
        self.minor = minor
        self.fileMode = fileMode
        self.uid = uid
        self.gid = gid
    }
}

/// Execution domain of the process (`personality(2)`).
public struct Personality: Codable, Sendable, Equatable {
    public var domain: String
    public var flags: [String]?
    public init(domain: String, flags: [String]? = nil) {
        self.domain = domain
        self.flags = flags
    }
}

/// Intel RDT (resctrl) settings.
public struct IntelRdt: Codable, Sendable, Equatable {
    public var closID: String?
    public var l3CacheSchema: String?
    public var memBwSchema: String?
    public var schemata: [String]?
    public var enableMonitoring: Bool?
    public init(closID: String? = nil, l3CacheSchema: String? = nil) {
        self.closID = closID
        self.l3CacheSchema = l3CacheSchema
    }
}

/// A seccomp filter, as the spec describes it.
public struct Seccomp: Codable, Sendable, Equatable {
    public var defaultAction: String
    public var defaultErrnoRet: UInt32?
    public var architectures: [String]?
    public var flags: [String]?
    public var listenerPath: String?
    public var listenerMetadata: String?
    public var syscalls: [SeccompSyscall]?
    public init(defaultAction: String, architectures: [String]? = nil, syscalls: [SeccompSyscall]? = nil) {
        self.defaultAction = defaultAction
        self.architectures = architectures
        self.syscalls = syscalls
    }
}

/// One seccomp rule: syscall names, the action, and optional argument conditions.
public struct SeccompSyscall: Codable, Sendable, Equatable {
    public var names: [String]
    public var action: String
    public var errnoRet: UInt32?
    public var args: [SeccompArg]?
    public init(names: [String], action: String, errnoRet: UInt32? = nil, args: [SeccompArg]? = nil) {
        self.names = names
        self.action = action
        self.errnoRet = errnoRet
        self.args = args
    }
}

/// A condition on one syscall argument.
public struct SeccompArg: Codable, Sendable, Equatable {
    public var index: UInt
    public var value: UInt64
    public var valueTwo: UInt64?
    public var op: String
    public init(index: UInt, value: UInt64, valueTwo: UInt64? = nil, op: String) {
        self.index = index
        self.value = value
        self.valueTwo = valueTwo
        self.op = op
    }
}

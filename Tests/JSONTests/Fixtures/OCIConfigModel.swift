/// A local Codable model of the OCI runtime config, independent of the OCISpec target, with
/// properties in the fixture's key order so the synthesized encoder writes them in that order.
struct OCIConfig: Codable, Equatable {
    var ociVersion: String
    var process: Process?
    var root: Root?
    var hostname: String?
    var mounts: [Mount]?
    var linux: Linux?
    var hooks: Hooks?
    var annotations: [String: String]?

    struct Process: Codable, Equatable {
        var terminal: Bool?
        var user: User
        var args: [String]?
        var env: [String]?
        var cwd: String
        var capabilities: Capabilities?
        var rlimits: [Rlimit]?
        var noNewPrivileges: Bool?
        var oomScoreAdj: Int?
        var apparmorProfile: String?
    }

    struct User: Codable, Equatable {
        var uid: UInt32
        var gid: UInt32
        var additionalGids: [UInt32]?
    }

    struct Capabilities: Codable, Equatable {
        var bounding, effective, permitted, ambient: [String]?
    }

    struct Rlimit: Codable, Equatable {
        var type: String
        var hard: UInt64
        var soft: UInt64
    }

    struct Root: Codable, Equatable {
        var path: String
        var readonly: Bool?
    }

    struct Mount: Codable, Equatable {
        var destination: String
        var type: String?
        var source: String?
        var options: [String]?
    }

    struct Linux: Codable, Equatable {
        var resources: Resources?
        var namespaces: [Namespace]?
        var maskedPaths: [String]?
        var readonlyPaths: [String]?
        var uidMappings: [IDMapping]?
        var gidMappings: [IDMapping]?
        var sysctl: [String: String]?
        var cgroupsPath: String?
        var seccomp: Seccomp?
    }

    struct Resources: Codable, Equatable {
        var devices: [DeviceRule]?
        var memory: Memory?
        var cpu: CPU?
        var pids: Pids?
    }

    struct DeviceRule: Codable, Equatable {
        var allow: Bool
        var access: String?
    }

    struct Memory: Codable, Equatable {
        var limit: Int64?
        var swap: Int64?
        var reservation: Int64?
    }

    struct CPU: Codable, Equatable {
        var shares: UInt64?
        var quota: Int64?
        var period: UInt64?
        var cpus: String?
    }

    struct Pids: Codable, Equatable {
        var limit: Int64
    }

    enum NamespaceType: String, Codable, Equatable {
        case pid, network, ipc, uts, mount, user, cgroup, time
    }

    struct Namespace: Codable, Equatable {
        var type: NamespaceType
        var path: String?
    }

    struct IDMapping: Codable, Equatable {
        var containerID: UInt32
        var hostID: UInt32
        var size: UInt32
    }

    struct Seccomp: Codable, Equatable {
        var defaultAction: String
        var defaultErrnoRet: UInt32?
        var architectures: [String]?
        var syscalls: [Syscall]?
    }

    struct Syscall: Codable, Equatable {
        var names: [String]
        var action: String
        var args: [SyscallArg]?
    }

    struct SyscallArg: Codable, Equatable {
        var index: UInt
        var value: UInt64
        var op: String
    }

    struct Hooks: Codable, Equatable {
        var createRuntime: [Hook]?
    }

    struct Hook: Codable, Equatable {
        var path: String
        var args: [String]?
        var env: [String]?
        var timeout: Int?
    }
}

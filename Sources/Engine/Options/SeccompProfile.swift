import OCISpec

/// A seccomp profile in docker's format (the one `--security-opt seccomp=FILE` takes and the
/// built-in default is written in): rules may apply only when the container has, or lacks, given
/// capabilities, or only on given architectures. `resolve` turns it into the OCI `linux.seccomp`
/// for one container's final capability set.
public struct SeccompProfile: Codable, Sendable, Equatable {
    public struct Filter: Codable, Sendable, Equatable {
        public var caps: [String]?
        public var arches: [String]?
        public var minKernel: String?
        public init(caps: [String]? = nil, arches: [String]? = nil) {
            self.caps = caps
            self.arches = arches
        }
    }
    public struct Rule: Codable, Sendable, Equatable {
        public var name: String?
        public var names: [String]?
        public var action: String
        public var errnoRet: UInt32?
        public var args: [SeccompArg]?
        public var includes: Filter?
        public var excludes: Filter?
        public init(
            names: [String], action: String, errnoRet: UInt32? = nil, args: [SeccompArg]? = nil,
            includes: Filter? = nil, excludes: Filter? = nil
        ) {
            self.names = names
            self.action = action
            self.errnoRet = errnoRet
            self.args = args
            self.includes = includes
            self.excludes = excludes
        }
    }
    public struct ArchMap: Codable, Sendable, Equatable {
        public var architecture: String
        public var subArchitectures: [String]?
    }

    public var defaultAction: String
    public var defaultErrnoRet: UInt32?
    public var architectures: [String]?
    public var archMap: [ArchMap]?
    public var flags: [String]?
    public var syscalls: [Rule]?

    public init(defaultAction: String, defaultErrnoRet: UInt32?, architectures: [String], syscalls: [Rule]) {
        self.defaultAction = defaultAction
        self.defaultErrnoRet = defaultErrnoRet
        self.architectures = architectures
        self.syscalls = syscalls
    }

    /// The native architecture in libseccomp's naming, and the 32-bit one it can also run.
    /// x32 is left out (its syscalls are then refused by the filter): Debian's kernels disable
    /// that ABI by default, and each architecture in a filter costs about 4 ms of libseccomp
    /// compilation on every container start (native alone ~1 ms, with i386 ~6 ms, with x32 ~10 ms).
    static var nativeArchitectures: [String] {
        #if arch(x86_64)
        return ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]
        #elseif arch(arm64)
        return ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]
        #else
        return []
        #endif
    }

    /// docker's short names for `arches` filters ("amd64", "arm64", ...).
    static var nativeGoArch: String {
        #if arch(x86_64)
        return "amd64"
        #elseif arch(arm64)
        return "arm64"
        #else
        return "unknown"
        #endif
    }

    /// The OCI profile for a container holding `capabilities`: rules whose `includes` the
    /// container does not meet, or whose `excludes` it does, are left out.
    public func resolve(capabilities: [String]) -> Seccomp {
        let caps = Set(capabilities)
        var rules: [SeccompSyscall] = []
        for rule in syscalls ?? [] {
            if let includes = rule.includes {
                if let needed = includes.caps, !needed.allSatisfy(caps.contains) { continue }
                if let arches = includes.arches, !arches.contains(Self.nativeGoArch) { continue }
            }
            if let excludes = rule.excludes {
                if let excluded = excludes.caps, excluded.contains(where: caps.contains) { continue }
                if let arches = excludes.arches, arches.contains(Self.nativeGoArch) { continue }
            }
            let names = (rule.names ?? []) + (rule.name.map { [$0] } ?? [])
            guard !names.isEmpty else { continue }
            rules.append(SeccompSyscall(names: names, action: rule.action, errnoRet: rule.errnoRet, args: rule.args))
        }
        var architectures = self.architectures ?? []
        if let archMap {
            let native = Set(Self.nativeArchitectures)
            for entry in archMap where native.contains(entry.architecture) {
                architectures.append(entry.architecture)
                architectures.append(contentsOf: entry.subArchitectures ?? [])
            }
        }
        var seen: Set<String> = []
        architectures = architectures.filter { seen.insert($0).inserted }
        var result = Seccomp(defaultAction: defaultAction, architectures: architectures.isEmpty ? nil : architectures, syscalls: rules)
        result.defaultErrnoRet = defaultErrnoRet
        result.flags = flags
        return result
    }
}

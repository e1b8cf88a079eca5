import LinuxSupport
/// A parsed `-v`: a host path bind (`/host:/ctr[:ro]`), a named volume (`name:/ctr[:ro]`) or an
/// anonymous volume (`/ctr`), as docker reads them.
public enum VolumeArgument: Sendable, Equatable {
    case bind(source: String, destination: String, readOnly: Bool)
    case named(name: String, destination: String, readOnly: Bool)
    case anonymous(destination: String)

    public var destination: String {
        switch self {
        case .bind(_, let destination, _), .named(_, let destination, _), .anonymous(let destination): return destination
        }
    }

    public init(parsing text: String) throws {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        func fail(_ why: String) -> EngineError {
            .invalidOption(
                "invalid volume '\(text)': \(why); use -v /host/path:/container/path[:ro], -v NAME:/container/path[:ro] or -v /container/path"
            )
        }
        guard (1...3).contains(parts.count), !parts.contains(where: { $0.isEmpty }) || (parts.count == 3 && parts[2].isEmpty) else {
            throw fail("empty part")
        }
        if parts.count == 1 {
            guard parts[0].hasPrefix("/") else { throw fail("a single path must be absolute") }
            self = .anonymous(destination: Self.clean(parts[0]))
            return
        }
        guard parts[1].hasPrefix("/") else { throw fail("the container path must be absolute") }
        guard Self.clean(parts[1]) != "/" else { throw fail("the container path cannot be /") }
        var readOnly = false
        var propagation: String?
        if parts.count == 3 {
            // docker's comma-separated modes. z/Z (SELinux relabelling) mean nothing on a host
            // without SELinux, and cached/delegated/consistent nothing on Linux: accepted, as
            // docker accepts them there. Binds are rprivate unless a propagation mode is given.
            for mode in parts[2].split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
                switch mode {
                case "ro": readOnly = true
                case "rw", "": readOnly = false
                case "z", "Z":
                    if FileIO.exists("/sys/fs/selinux/enforce") {
                        throw fail("mode '\(mode)' asks for an SELinux relabel, which skiff does not do")
                    }
                case "cached", "delegated", "consistent": break
                case "private", "rprivate", "shared", "rshared", "slave", "rslave":
                    guard propagation == nil else { throw fail("more than one propagation mode") }
                    propagation = mode
                default:
                    throw fail(
                        "unknown mode '\(mode)' (use ro, rw, z, Z, cached, delegated, or a propagation: private, rprivate, shared, rshared, slave, rslave)"
                    )
                }
            }
        }
        if let propagation, !parts[0].hasPrefix("/"), !["private", "rprivate"].contains(propagation) {
            throw fail("propagation '\(propagation)' applies only to a bind mount of a host path")
        }
        if parts[0].hasPrefix("/") {
            self = .bind(source: parts[0], destination: Self.clean(parts[1]), readOnly: readOnly)
        } else {
            try VolumeStore.validate(name: parts[0])
            self = .named(name: parts[0], destination: Self.clean(parts[1]), readOnly: readOnly)
        }
    }

    /// The propagation mode among a bind's `-v` modes (`rslave`, `shared`, ...), nil when none
    /// is given (docker's default for a bind: rprivate).
    public static func propagation(_ text: String) -> String? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return nil }
        return parts[2].split(separator: ",").map(String.init).first { propagationModes.contains($0) }
    }

    public static let propagationModes: Set<String> = ["private", "rprivate", "shared", "rshared", "slave", "rslave"]

    /// `/a//b/` is `/a/b`, so two spellings of one mount point are seen as the same.
    static func clean(_ path: String) -> String {
        "/" + path.split(separator: "/").filter { $0 != "." }.joined(separator: "/")
    }
}

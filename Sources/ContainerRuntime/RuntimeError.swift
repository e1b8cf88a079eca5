import LinuxSupport

/// Everything that can go wrong in the runtime, each case carrying what the user needs to fix it.
public enum RuntimeError: Error, CustomStringConvertible, Sendable {
    case invalidID(String)
    case containerExists(String)
    case containerNotFound(String)
    case invalidBundle(path: String, reason: String)
    case invalidConfig(String)
    case unsupportedVersion(String)
    case wrongState(id: String, status: String, wanted: String)
    case system(SystemError)
    case initFailed(String)
    case hookFailed(kind: String, path: String, reason: String)
    case cgroup(String)
    case unsupported(String)

    public var description: String {
        switch self {
        case .invalidID(let id):
            return "invalid container id '\(id)': use letters, digits, '.', '_', '+' and '-', not starting with '.'"
        case .containerExists(let id):
            return "container '\(id)' already exists: pick another id or 'delete' the old one first"
        case .containerNotFound(let id):
            return "container '\(id)' does not exist: check the id with 'list'"
        case .invalidBundle(let path, let reason):
            return "bundle \(path): \(reason)"
        case .invalidConfig(let reason):
            return "config.json: \(reason)"
        case .unsupportedVersion(let version):
            return "config.json: unsupported ociVersion '\(version)': skiff-runtime supports 1.0.0 to \(OCIVersions.max)"
        case .wrongState(let id, let status, let wanted):
            return "container '\(id)' is \(status): it must be \(wanted) for this command"
        case .system(let error):
            return error.description
        case .initFailed(let message):
            return message
        case .hookFailed(let kind, let path, let reason):
            return "\(kind) hook \(path) failed: \(reason)"
        case .cgroup(let message):
            return "cgroup: \(message)"
        case .unsupported(let message):
            return message
        }
    }
}

/// The range of runtime-spec versions accepted in config.json.
public enum OCIVersions {
    public static let min = "1.0.0"
    public static let max = "1.2.0"

    /// Accepts any 1.x version string up to 1.2.x (with optional suffixes such as "-dev" or "+dev").
    public static func isSupported(_ version: String) -> Bool {
        let core = version.split(whereSeparator: { $0 == "-" || $0 == "+" }).first.map(String.init) ?? version
        let parts = core.split(separator: ".").map { Int($0) }
        guard parts.count >= 2, parts.allSatisfy({ $0 != nil }), let major = parts[0], let minor = parts[1] else {
            return false
        }
        return major == 1 && minor <= 2
    }
}

extension RuntimeError {
    /// Wraps a system error (or passes a runtime error through) for uniform reporting.
    static func wrap(_ error: any Error) -> RuntimeError {
        if let error = error as? RuntimeError { return error }
        if let error = error as? SystemError { return .system(error) }
        return .initFailed("\(error)")
    }
}

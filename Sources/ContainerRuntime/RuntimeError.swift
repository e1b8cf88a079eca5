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
    /// The container's program cannot be started: why (for docker's 127 and 126) and the message.
    case cannotExecute(ExecFailure, String)
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
        case .initFailed(let message), .cannotExecute(_, let message):
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

/// Why the init stage could not start the container's program. Carried from ProcessSetup
/// through the init protocol, so callers (the engine's exit codes) decide on this, not on text.
public enum ExecFailure: String, Codable, Sendable, CaseIterable {
    /// Nothing by that name in PATH, or no file at the path (docker: 127).
    case executableNotFound
    /// Something that cannot be run as a program (a directory) (docker: 126).
    case notExecutable
}

extension RuntimeError {
    /// Why the program could not be started, when that is what went wrong.
    public var execFailure: ExecFailure? {
        if case .cannotExecute(let reason, _) = self { return reason }
        return nil
    }

    /// The error for init's `failed` message: typed when init said why the program cannot start.
    static func initFailed(_ message: String, execFailure: ExecFailure?) -> RuntimeError {
        execFailure.map { .cannotExecute($0, message) } ?? .initFailed(message)
    }

    /// Wraps a system error (or passes a runtime error through) for uniform reporting.
    static func wrap(_ error: any Error) -> RuntimeError {
        if let error = error as? RuntimeError { return error }
        if let error = error as? SystemError { return .system(error) }
        return .initFailed("\(error)")
    }
}

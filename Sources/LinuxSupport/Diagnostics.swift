#if canImport(Glibc)
import Glibc
#endif

/// How much skiff says on stderr besides its output and errors: docker's levels (`--log-level`,
/// `-D`/`--debug` for `debug`). The global options put the level in `SKIFF_LOG_LEVEL`, so it
/// reaches every process of the command (the monitor's stderr is /dev/null).
public enum LogLevel: Int, Comparable, Sendable, CaseIterable {
    case debug, info, warn, error, fatal

    public init?(parsing text: String) {
        switch text.lowercased() {
        case "debug": self = .debug
        case "info": self = .info
        case "warn", "warning": self = .warn
        case "error": self = .error
        case "fatal", "panic": self = .fatal
        default: return nil
        }
    }

    public var name: String {
        switch self {
        case .debug: return "debug"
        case .info: return "info"
        case .warn: return "warn"
        case .error: return "error"
        case .fatal: return "fatal"
        }
    }

    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// The one place warnings and debug lines are written: `skiff: warning: ...` unless the level is
/// above `warn`, `skiff: debug: ...` only at `debug`. One write(2) per line, so lines from
/// threads do not interleave.
public enum Diagnostics {
    public static let environmentVariable = "SKIFF_LOG_LEVEL"

    /// The level from `SKIFF_LOG_LEVEL` (read once), `warn` when unset or unknown.
    public static let level: LogLevel = {
        guard let text = getenv(environmentVariable) else { return .warn }
        return LogLevel(parsing: String(cString: text)) ?? .warn
    }()

    public static func warn(_ message: String) {
        guard level <= .warn else { return }
        emit("skiff: warning: " + message + "\n")
    }

    public static var debugging: Bool { level == .debug }

    public static func debug(_ message: @autoclosure () -> String) {
        guard level == .debug else { return }
        emit("skiff: debug: " + message() + "\n")
    }

    private static func emit(_ line: String) {
        var bytes = Array(line.utf8)
        _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
    }
}

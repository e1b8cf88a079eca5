/// docker's `--restart` policy, applied by the container's monitor when the program exits, with
/// docker's backoff (100 ms doubling to a minute, back to 100 ms after a run of 10 s or more).
/// Stored in the record as docker spells it ("on-failure:3").
public enum RestartPolicy: Sendable, Equatable, Codable, CustomStringConvertible {
    case no
    /// Restart when the exit code is not 0, at most `maxRetries` times (0: without limit).
    case onFailure(maxRetries: Int)
    case always
    /// As `always` here: with no daemon, the only difference from docker's is that neither
    /// restarts after `stop`.
    case unlessStopped

    public static let initialBackoff = 0.1
    public static let maximumBackoff = 60.0

    public init(parsing text: String) throws {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        switch parts[0] {
        case "no" where parts.count == 1, "" where parts.count == 1: self = .no
        case "always" where parts.count == 1: self = .always
        case "unless-stopped" where parts.count == 1: self = .unlessStopped
        case "on-failure":
            guard parts.count == 1 || (Int(parts[1]).map { $0 >= 0 } ?? false) else {
                throw EngineError.invalidOption("invalid --restart '\(text)': the retry count of on-failure must be a number >= 0")
            }
            self = .onFailure(maxRetries: parts.count == 2 ? Int(parts[1]) ?? 0 : 0)
        default:
            throw EngineError.invalidOption("invalid --restart '\(text)': use no, on-failure[:max-retries], always or unless-stopped")
        }
    }

    public var description: String {
        switch self {
        case .no: return "no"
        case .always: return "always"
        case .unlessStopped: return "unless-stopped"
        case .onFailure(let max): return max == 0 ? "on-failure" : "on-failure:\(max)"
        }
    }

    /// docker's name and retry count, as inspect shows them.
    public var name: String { description.split(separator: ":").first.map(String.init) ?? "no" }
    public var maximumRetryCount: Int {
        if case .onFailure(let max) = self { return max }
        return 0
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        self = (try? RestartPolicy(parsing: text)) ?? .no
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    /// Whether the monitor restarts a program that exited with `exitCode` after `restartCount`
    /// restarts. Never after `stop`.
    public func shouldRestart(exitCode: Int32, restartCount: Int, stopRequested: Bool) -> Bool {
        if stopRequested { return false }
        switch self {
        case .no: return false
        case .always, .unlessStopped: return true
        case .onFailure(let max): return exitCode != 0 && (max == 0 || restartCount < max)
        }
    }

    /// The delay before the next restart: `previous` is the last delay (nil before the first),
    /// `ranFor` how many seconds the program ran this time.
    public static func backoff(previous: Double?, ranFor: Double) -> Double {
        guard let previous, ranFor < 10 else { return initialBackoff }
        return min(previous * 2, maximumBackoff)
    }
}

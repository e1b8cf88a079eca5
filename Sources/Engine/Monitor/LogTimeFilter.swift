#if canImport(Glibc)
import Glibc
#endif
import LinuxSupport

/// `logs --since` and `--until` as docker takes them: a duration back from now ("10m", "1h30m",
/// "2.5s"), Unix seconds ("1764790000" or with a fraction), or an RFC 3339 time
/// ("2026-12-03T19:00:00Z", fractional seconds and a +HH:MM offset allowed, a bare date as its
/// midnight UTC). Times are compared as seconds since the epoch.
public struct LogTimeFilter: Sendable, Equatable {
    public var since: Double?
    public var until: Double?

    public init(since: Double? = nil, until: Double? = nil) {
        self.since = since
        self.until = until
    }

    /// Parses the two options against `now` (seconds since the epoch).
    public init(since: String?, until: String?, now: Double) throws {
        self.since = try since.map { try Self.instant($0, now: now, option: "--since") }
        self.until = try until.map { try Self.instant($0, now: now, option: "--until") }
    }

    public var isEmpty: Bool { since == nil && until == nil }

    /// Whether an entry written at `time` (its RFC 3339 text) is shown.
    public func includes(_ time: String) -> Bool {
        guard !isEmpty else { return true }
        guard let seconds = Timestamp.seconds(time) else { return true }
        if let since, seconds < since { return false }
        if let until, seconds > until { return false }
        return true
    }

    static func instant(_ text: String, now: Double, option: String) throws -> Double {
        if let duration = duration(text) { return now - duration }
        if let unix = Double(text), text.first?.isNumber == true { return unix }
        if let time = Timestamp.seconds(text) { return time }
        throw EngineError.invalidOption(
            "invalid \(option) '\(text)': give a duration such as 10m or 1h30m, Unix seconds, or an RFC 3339 time such as 2026-12-03T19:00:00Z"
        )
    }

    static func duration(_ text: String) -> Double? { GoDuration.seconds(text) }
}

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

    /// Go's duration syntax: numbers with units h, m, s, ms, us, ns, at least one.
    static func duration(_ text: String) -> Double? {
        let units: [(String, Double)] = [("ms", 1e-3), ("us", 1e-6), ("µs", 1e-6), ("ns", 1e-9), ("h", 3600), ("m", 60), ("s", 1)]
        var rest = Substring(text)
        var total = 0.0
        var parts = 0
        while !rest.isEmpty {
            let number = rest.prefix { $0.isNumber || $0 == "." }
            guard !number.isEmpty, let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            guard let (unit, factor) = units.first(where: { rest.hasPrefix($0.0) }) else { return nil }
            rest = rest.dropFirst(unit.count)
            total += value * factor
            parts += 1
        }
        return parts > 0 ? total : nil
    }
}

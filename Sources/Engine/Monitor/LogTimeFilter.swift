#if canImport(Glibc)
import Glibc
#endif

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
        guard let seconds = Self.rfc3339(time) else { return true }
        if let since, seconds < since { return false }
        if let until, seconds > until { return false }
        return true
    }

    static func instant(_ text: String, now: Double, option: String) throws -> Double {
        if let duration = duration(text) { return now - duration }
        if let unix = Double(text), text.first?.isNumber == true { return unix }
        if let time = rfc3339(text) { return time }
        throw EngineError.invalidOption("invalid \(option) '\(text)': give a duration such as 10m or 1h30m, Unix seconds, or an RFC 3339 time such as 2026-12-03T19:00:00Z")
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

    /// "YYYY-MM-DD[THH:MM:SS[.fraction]][Z|±HH:MM]" as seconds since the epoch (UTC if no zone).
    public static func rfc3339(_ text: String) -> Double? {
        let bytes = Array(text.utf8)
        func number(_ start: Int, _ count: Int) -> Int? {
            guard start + count <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[start..<(start + count)] {
                guard byte >= 48 && byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        guard let year = number(0, 4), bytes.count >= 10, bytes[4] == 45, let month = number(5, 2), bytes[7] == 45,
              let day = number(8, 2), (1...12).contains(month), (1...31).contains(day) else { return nil }
        var fields = tm()
        fields.tm_year = Int32(year - 1900)
        fields.tm_mon = Int32(month - 1)
        fields.tm_mday = Int32(day)
        var index = 10
        var fraction = 0.0
        var offset = 0
        if index < bytes.count {
            guard bytes[index] == 84 || bytes[index] == 116 || bytes[index] == 32,  // T, t or space
                  let hour = number(index + 1, 2), bytes.count > index + 3, bytes[index + 3] == 58,
                  let minute = number(index + 4, 2), bytes.count > index + 6, bytes[index + 6] == 58,
                  let second = number(index + 7, 2), hour < 24, minute < 60, second < 61 else { return nil }
            fields.tm_hour = Int32(hour)
            fields.tm_min = Int32(minute)
            fields.tm_sec = Int32(second)
            index += 9
            if index < bytes.count, bytes[index] == 46 {  // .fraction
                var end = index + 1
                while end < bytes.count, bytes[end] >= 48 && bytes[end] <= 57 { end += 1 }
                guard end > index + 1, let value = Double("0" + String(decoding: bytes[index..<end], as: UTF8.self)) else { return nil }
                fraction = value
                index = end
            }
            if index < bytes.count {
                if bytes[index] == 90 || bytes[index] == 122 {  // Z
                    index += 1
                } else if bytes[index] == 43 || bytes[index] == 45, let hours = number(index + 1, 2),
                          bytes.count > index + 3, bytes[index + 3] == 58, let minutes = number(index + 4, 2) {
                    offset = (hours * 3600 + minutes * 60) * (bytes[index] == 45 ? -1 : 1)
                    index += 6
                } else {
                    return nil
                }
            }
            guard index == bytes.count else { return nil }
        }
        return Double(timegm(&fields) - offset) + fraction
    }
}

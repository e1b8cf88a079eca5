#if canImport(Glibc)
import Glibc
#endif

/// RFC 3339 times, the one formatter and parser of the project: OCI state, the engine's records,
/// json-file log lines, image and network records and the runtime's log all write
/// "2026-11-23T18:40:16.123456789Z" (UTC, nanoseconds, as docker prints them), and `logs
/// --since`, `ps` and `inspect` read them back.
public enum Timestamp {
    /// The current wall-clock time.
    public static func now() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return format(seconds: Int(ts.tv_sec), nanoseconds: Int(ts.tv_nsec))
    }

    /// Seconds since the epoch and nanoseconds (0..<1e9) as RFC 3339 UTC with nine fraction digits.
    public static func format(seconds: Int, nanoseconds: Int) -> String {
        var t = time_t(seconds)
        var value = tm()
        gmtime_r(&t, &value)
        func pad(_ v: Int, _ width: Int = 2) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(Int(value.tm_year) + 1900, 4))-\(pad(Int(value.tm_mon) + 1))-\(pad(Int(value.tm_mday)))T"
            + "\(pad(Int(value.tm_hour))):\(pad(Int(value.tm_min))):\(pad(Int(value.tm_sec))).\(pad(nanoseconds, 9))Z"
    }

    /// "YYYY-MM-DD[THH:MM:SS[.fraction]][Z|±HH:MM]" as seconds since the epoch (UTC if no zone).
    /// Seconds since the epoch now (CLOCK_REALTIME), for ages ("5 minutes ago").
    public static func nowSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    public static func seconds(_ text: String) -> Double? {
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
            let day = number(8, 2), (1...12).contains(month), (1...31).contains(day)
        else { return nil }
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
                let second = number(index + 7, 2), hour < 24, minute < 60, second < 61
            else { return nil }
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
                    bytes.count > index + 3, bytes[index + 3] == 58, let minutes = number(index + 4, 2)
                {
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

/// Monotonic time for timeouts and durations (CLOCK_MONOTONIC), never set back or forward.
public enum MonotonicClock {
    public static func seconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

/// Go's duration syntax, as docker's flags take it (`30s`, `1m30s`, `500ms`): numbers with units
/// h, m, s, ms, us, ns, at least one.
public enum GoDuration {
    public static func seconds(_ text: String) -> Double? {
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

#if canImport(Glibc)
import Glibc
#endif

/// RFC 3339 timestamps with nanoseconds in UTC, as docker writes them in records and logs.
public enum EngineClock {
    public static func now() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = time_t(ts.tv_sec)
        var value = tm()
        gmtime_r(&t, &value)
        func pad(_ v: Int, _ width: Int = 2) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(Int(value.tm_year) + 1900, 4))-\(pad(Int(value.tm_mon) + 1))-\(pad(Int(value.tm_mday)))T"
            + "\(pad(Int(value.tm_hour))):\(pad(Int(value.tm_min))):\(pad(Int(value.tm_sec))).\(pad(Int(ts.tv_nsec), 9))Z"
    }
}

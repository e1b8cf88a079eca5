#if canImport(Glibc)
import Glibc
#endif

/// Phase timestamps on stderr when SKIFF_RUNTIME_TRACE is set (for both the runtime and its init
/// stage), to see where a container start spends its time without strace's distortion.
public enum RuntimeTrace {
    public static let enabled = getenv("SKIFF_RUNTIME_TRACE") != nil

    public static func mark(_ what: @autoclosure () -> String) {
        guard enabled else { return }
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        let ms = Double(ts.tv_sec % 1000) * 1000 + Double(ts.tv_nsec) / 1e6
        let line = "trace \(getpid()) \(ms) \(what())\n"
        _ = line.withCString { write(2, $0, strlen($0)) }
    }
}

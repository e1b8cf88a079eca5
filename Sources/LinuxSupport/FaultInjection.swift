#if canImport(Glibc)
import Glibc
#endif

/// Named points where a test can have the process killed (SIGKILL, as a power cut or `kill -9`
/// would), to prove that the store never lies after a crash there: `SKIFF_TEST_KILL_AT=NAME`;
/// `NAME:TERM` sends SIGTERM instead and waits there for it to end the process (what Ctrl-C or a
/// service manager's stop does at that moment); `NAME:INT` sends SIGINT and goes on (a Ctrl-C at
/// that moment). Unset, a point costs one comparison with a value read once per process.
public enum FaultInjection {
    private static let target: String? = getenv("SKIFF_TEST_KILL_AT").map { String(cString: $0) }

    /// Kills this process with SIGKILL when the test asked for `name`.
    @inline(__always)
    public static func point(_ name: StaticString) {
        guard let target else { return }
        if target == "\(name)" { kill(getpid(), SIGKILL) }
        if target == "\(name):INT" { kill(getpid(), SIGINT) }
        if target == "\(name):TERM" {
            kill(getpid(), SIGTERM)
            while true { pause() }
        }
    }
}

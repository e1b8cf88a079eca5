#if canImport(Glibc)
import Glibc
#endif
import LinuxSupport

/// An exclusive flock(2) on a lock file, held for the duration of `withLock`.
enum NetworkLock {
    /// With `inheritable`, the descriptor stays open across exec, so the CNI plugins started
    /// meanwhile hold the lock too: when our process is killed (kill -9 of a monitor or of
    /// `skiff rm`), an orphaned plugin still running keeps the next teardown waiting until it is
    /// done, instead of racing it.
    static func withLock<T>(_ path: String, inheritable: Bool = false, _ body: () throws -> T) throws -> T {
        let fd = try sysCall("open \(path)") { open(path, O_RDWR | O_CREAT | (inheritable ? 0 : O_CLOEXEC), 0o600) }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            if errno != EINTR { throw SystemError("lock \(path)") }
        }
        return try body()
    }
}

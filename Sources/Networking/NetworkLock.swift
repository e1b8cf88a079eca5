#if canImport(Glibc)
import Glibc
#endif
import LinuxSupport

/// An exclusive flock(2) on a lock file, held for the duration of `withLock`.
enum NetworkLock {
    static func withLock<T>(_ path: String, _ body: () throws -> T) throws -> T {
        let fd = try sysCall("open \(path)") { open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600) }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            if errno != EINTR { throw SystemError("lock \(path)") }
        }
        return try body()
    }
}

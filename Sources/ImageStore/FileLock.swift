#if canImport(Glibc)
import Glibc
#endif
import LinuxSupport

/// An advisory `flock(2)` on a lock file, released when the value is released or `unlock` is called.
///
/// It exists so that two skiff processes sharing a store (two pulls, a pull and a prune) never
/// see each other's half-done work: writers of the name index take it exclusively, garbage
/// collection takes the store lock exclusively while every user holds it shared.
/// Unchecked Sendable: the descriptor is only set in init and by `unlock`, which its holder calls
/// once when it is done (the lock is held by one scope, possibly moved to a Dispatch thread).
public final class FileLock: @unchecked Sendable {
    private var fd: Int32

    /// Opens (creating) `path` and blocks until the lock is held.
    public init(path: String, exclusive: Bool) throws {
        fd = try sysCall("open lock \(path)") { open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600) }
        do {
            try sysCall("flock \(path)") { flock(fd, exclusive ? LOCK_EX : LOCK_SH) }
        } catch {
            close(fd)
            throw error
        }
    }

    /// Tries to take the lock without waiting; nil when another process holds it.
    public static func tryLock(path: String, exclusive: Bool) throws -> FileLock? {
        let fd = try sysCall("open lock \(path)") { open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600) }
        if flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) != 0 {
            close(fd)
            return nil
        }
        return FileLock(fd: fd)
    }

    private init(fd: Int32) { self.fd = fd }

    public func unlock() {
        if fd >= 0 { close(fd); fd = -1 }
    }

    deinit { unlock() }
}

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
    /// The open lock file; the lock goes with it.
    private var lockFile: OwnedFD?

    /// Opens (creating) `path` and blocks until the lock is held.
    public init(path: String, exclusive: Bool) throws {
        let file = try OwnedFD("open lock \(path)") { open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600) }
        try sysCall("flock \(path)") { flock(file.raw, exclusive ? LOCK_EX : LOCK_SH) }
        lockFile = consume file
    }

    /// Tries to take the lock without waiting; nil when another process holds it.
    public static func tryLock(path: String, exclusive: Bool) throws -> FileLock? {
        let file = try OwnedFD("open lock \(path)") { open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600) }
        if flock(file.raw, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) != 0 { return nil }
        return FileLock(file)
    }

    private init(_ file: consuming OwnedFD) { lockFile = consume file }

    /// The open lock file, to hand to a child that must hold the lock as long as it lives (a
    /// descriptor it inherits shares the lock); nil once unlocked.
    public var descriptor: Int32? { lockFile?.raw }

    /// Releases the lock now (closing the file); the lock is released at deinit otherwise.
    public func unlock() { lockFile = nil }
}

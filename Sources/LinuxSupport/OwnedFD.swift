#if canImport(Glibc)
import Glibc
#endif
import CShim

/// A file descriptor with one owner: it is closed exactly once, when its owner lets go of it
/// (deinit), or handed on with `take()`. It cannot be copied, so two places can never both
/// close it, and one forgotten on an early return or a throw is closed rather than leaked.
///
/// `raw` lends the number for a system call; it stays valid while the `OwnedFD` lives. Errors
/// of close(2) in deinit are ignored (the descriptor is gone either way, and Linux must not
/// retry it); `close()` reports them where losing one would lose data (a file just written).
public struct OwnedFD: ~Copyable {
    private let fd: Int32

    /// Takes ownership of `fd`, which must be open (>= 0).
    public init(_ fd: Int32) {
        precondition(fd >= 0, "OwnedFD needs an open descriptor, got \(fd)")
        self.fd = fd
    }

    /// Takes ownership of what a system call returned, or throws the errno it set.
    public init(_ operation: @autoclosure () -> String, _ body: () -> Int32) throws(SystemError) {
        while true {
            let result = body()
            if result >= 0 {
                self.fd = result
                return
            }
            let code = errno
            if code == EINTR { continue }
            throw SystemError(operation(), errno: code)
        }
    }

    /// The descriptor's number, lent for a system call; do not close it.
    public var raw: Int32 { fd }

    /// Gives up ownership: the caller now closes the descriptor (or hands it to one that does).
    public consuming func take() -> Int32 {
        let fd = self.fd
        discard self
        return fd
    }

    /// Closes now and reports a failure (EIO, ENOSPC, EDQUOT on some filesystems).
    public consuming func close(what: @autoclosure () -> String = "descriptor") throws(SystemError) {
        let fd = take()
        if Glibc.close(fd) != 0 && errno != EINTR { throw SystemError("close \(what())") }
    }

    /// A second descriptor for the same open file (close-on-exec).
    public borrowing func duplicate() throws(SystemError) -> OwnedFD {
        let fd = self.fd
        return try OwnedFD("dup") { skiff_fcntl_int(fd, F_DUPFD_CLOEXEC, 0) }
    }

    deinit { _ = Glibc.close(fd) }
}

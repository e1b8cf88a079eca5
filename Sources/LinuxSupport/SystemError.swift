#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A failed system call: what was attempted, on what, and the errno the kernel gave.
///
/// It exists so every layer above can report "mount /proc on /x/proc: Operation not permitted"
/// instead of a bare number, and can still match on the errno when it needs to.
public struct SystemError: Error, CustomStringConvertible, Sendable, Equatable {
    public let operation: String
    public let errno: Int32

    public init(_ operation: String, errno: Int32 = Glibc.errno) {
        self.operation = operation
        self.errno = errno
    }

    public var description: String {
        "\(operation): \(Self.message(errno: errno))"
    }

    /// The C library's text for an errno ("Connection refused"): the one place it is looked up.
    public static func message(errno: Int32) -> String {
        String(cString: strerror(errno))
    }
}

/// Runs a system call that returns -1 on failure, retrying on EINTR.
@discardableResult
@inline(__always)
public func sysCall<T: FixedWidthInteger>(_ operation: @autoclosure () -> String, _ body: () -> T) throws -> T {
    while true {
        let result = body()
        if result != -1 { return result }
        let code = errno
        if code == EINTR { continue }
        throw SystemError(operation(), errno: code)
    }
}

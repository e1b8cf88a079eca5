#if canImport(Glibc)
import Glibc
#endif

/// Input on its way to a program's stdin: a non-blocking pipe, or a pty master. What the program
/// does not take yet waits here (a program that never reads must not stall whoever feeds it), and
/// the end of input closes a pipe once it is drained; a terminal has no end of input to pass on.
/// The monitor of a process container and the guest agent both feed programs this way.
public struct PendingInput {
    /// The descriptor, -1 once closed. Owned by the caller, who learns from `flush` when it is closed.
    public private(set) var fd: Int32
    private let isTerminal: Bool
    private var pending: [UInt8] = []
    private var closeWhenFlushed = false

    public init(fd: Int32, isTerminal: Bool) {
        self.fd = fd
        self.isTerminal = isTerminal
    }

    /// Whether the caller should poll `fd` for POLLOUT.
    public var wantsWrite: Bool { fd >= 0 && !pending.isEmpty }

    /// Bytes waiting for the program to take them (a feeder that reads its own source only while
    /// this is small keeps the backlog bounded).
    public var pendingCount: Int { pending.count }

    /// Adds `bytes` (dropped after the end of input) and writes what the program takes now.
    /// Returns the descriptor if this closed it.
    public mutating func append(_ bytes: some Collection<UInt8>) -> Int32? {
        guard fd >= 0, !closeWhenFlushed else { return nil }
        pending.append(contentsOf: bytes)
        return flush()
    }

    /// The end of input: a pipe is closed once what waits is written; a terminal stays open.
    /// Returns the descriptor if this closed it.
    public mutating func end() -> Int32? {
        guard fd >= 0, !isTerminal else { return nil }
        closeWhenFlushed = true
        return flush()
    }

    /// Writes what the program takes without blocking; a reader that went away (EPIPE) drops the
    /// rest. Returns the descriptor if this closed it (the caller stops tracking it).
    public mutating func flush() -> Int32? {
        while fd >= 0 && !pending.isEmpty {
            let n = pending.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                pending.removeFirst(n)
                continue
            }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return nil }
            pending = []
        }
        guard closeWhenFlushed, fd >= 0, !isTerminal else { return nil }
        let closed = fd
        close(closed)
        fd = -1
        return closed
    }
}

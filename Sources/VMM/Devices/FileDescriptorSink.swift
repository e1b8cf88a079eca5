#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Where the serial console writes: a file descriptor (our stdout for `skiff vm run`), without
/// ever blocking the vCPU thread that calls `write`. What the descriptor cannot take right away
/// waits in a buffer of `capacity` bytes, written out when the descriptor has room again (the
/// device loop watches it, see `pendingOutputDescriptor`); beyond that output is dropped and
/// counted in `droppedBytes`. So a guest printing into a pipe nobody reads costs at most
/// `capacity` bytes of memory, and the vCPU still sees a stop request.
///
/// Pipes, FIFOs and terminals are written through their own non-blocking open file description
/// (reopened through /proc/self/fd), so the O_NONBLOCK flag never reaches the description the
/// caller shares with its shell; sockets get MSG_DONTWAIT; regular files never block.
public final class FileDescriptorSink: SerialSink, Sendable {
    /// 1 MiB: about a second of a chatty kernel boot log at terminal speed, small next to a VM.
    public static let defaultCapacity = 1 << 20

    enum Method: Sendable {
        /// write(2) that cannot block: a non-blocking description, a regular file.
        case write
        /// send(2) with MSG_DONTWAIT | MSG_NOSIGNAL.
        case send
        /// Reopening failed (no /proc, no permission): poll for room, then write at most
        /// PIPE_BUF bytes, which a pipe with room takes without blocking; a write that still
        /// blocks (another writer took the room) is cut short by the vCPU kick signal (EINTR).
        case pollThenWrite
    }

    struct Pending {
        var bytes: [UInt8] = []
        var start = 0
        var dropped = 0
        var count: Int { bytes.count - start }
    }

    /// The descriptor written to (ours when `ownsDescriptor`).
    let fd: Int32
    let ownsDescriptor: Bool
    let method: Method
    public let capacity: Int
    private let pending = Mutex(Pending())

    public init(fd: Int32, capacity: Int = FileDescriptorSink.defaultCapacity) {
        (self.fd, self.ownsDescriptor, self.method) = Self.nonBlockingTarget(for: fd)
        self.capacity = capacity
    }

    deinit { if ownsDescriptor { close(fd) } }

    /// Chooses how to write `fd` without blocking (see the type's comment).
    static func nonBlockingTarget(for fd: Int32) -> (Int32, Bool, Method) {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return (fd, false, .pollThenWrite) }
        switch st.st_mode & S_IFMT {
        case S_IFREG, S_IFBLK: return (fd, false, .write)
        case S_IFSOCK: return (fd, false, .send)
        default:
            if fcntl(fd, F_GETFL) & O_NONBLOCK != 0 { return (fd, false, .write) }
            let reopened = open("/proc/self/fd/\(fd)", O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
            return reopened >= 0 ? (reopened, true, .write) : (fd, false, .pollThenWrite)
        }
    }

    /// Bytes dropped so far because the descriptor did not keep up (or failed).
    public var droppedBytes: Int { pending.withLock { $0.dropped } }
    /// Bytes waiting for the descriptor to take them.
    public var pendingBytes: Int { pending.withLock { $0.count } }

    public var pendingOutputDescriptor: Int32? { fd }

    public func write(_ bytes: [UInt8]) {
        pending.withLock { p in
            flush(&p)
            var rest = bytes[...]
            if p.count == 0 {
                guard let written = writeSome(rest) else {
                    p.dropped += rest.count
                    return
                }
                rest = rest.dropFirst(written)
            }
            let room = max(0, capacity - p.count)
            p.bytes.append(contentsOf: rest.prefix(room))
            p.dropped += max(0, rest.count - room)
        }
    }

    public func flushPending() {
        pending.withLock { flush(&$0) }
    }

    /// Writes what is pending, waiting for room while the descriptor keeps taking bytes: gives up
    /// (counting the rest as dropped) once it has not taken any for `stall` seconds or after
    /// `limit` seconds in all, so a reader that stopped reading cannot hold up the monitor's exit.
    public func finish(stall: Double = 0.25, limit: Double = 2) {
        var start = timespec()
        clock_gettime(CLOCK_MONOTONIC, &start)
        func elapsed() -> Double {
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            return Double(now.tv_sec - start.tv_sec) + Double(now.tv_nsec - start.tv_nsec) / 1e9
        }
        while true {
            let left = pending.withLock { p -> Int in
                flush(&p)
                return p.count
            }
            if left == 0 { return }
            let wait = min(stall, limit - elapsed())
            var probe = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            if wait <= 0 || poll(&probe, 1, Int32(wait * 1000)) <= 0 || probe.revents & Int16(POLLOUT) == 0 {
                pending.withLock { p in
                    p.dropped += p.count
                    p.bytes = []
                    p.start = 0
                }
                return
            }
        }
    }

    /// Writes pending bytes until the descriptor takes no more.
    private func flush(_ p: inout Pending) {
        while p.count > 0 {
            guard let written = writeSome(p.bytes[p.start...]) else {
                p.dropped += p.count
                p.bytes = []
                p.start = 0
                return
            }
            if written == 0 { break }
            p.start += written
        }
        if p.count == 0 {
            p.bytes.removeAll(keepingCapacity: p.bytes.count <= 64 * 1024)
            p.start = 0
        } else if p.start >= p.bytes.count / 2 {
            p.bytes.removeFirst(p.start)  // amortised: at most once per half the buffer written
            p.start = 0
        }
    }

    /// Writes what the descriptor takes now: the count (0 when it has no room), nil on an error
    /// that will not go away (the reader is gone), after which output is only counted.
    private func writeSome(_ bytes: ArraySlice<UInt8>) -> Int? {
        if bytes.isEmpty { return 0 }
        return bytes.withUnsafeBytes { raw -> Int? in
            var length = raw.count
            if method == .pollThenWrite {
                var probe = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                guard poll(&probe, 1, 0) == 1, probe.revents & Int16(POLLOUT) != 0 else { return 0 }
                length = min(length, Int(PIPE_BUF))
            }
            let n =
                method == .send
                ? Glibc.send(fd, raw.baseAddress, length, Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
                : Glibc.write(fd, raw.baseAddress, length)
            if n >= 0 { return n }
            switch errno {
            case EAGAIN, EWOULDBLOCK, EINTR: return 0
            default: return nil
            }
        }
    }
}

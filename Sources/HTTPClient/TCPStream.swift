#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import LinuxSupport
import Synchronization

/// A connected TCP socket with an idle timeout on every read and write.
///
/// It exists to give the HTTP client blocking I/O with bounded waits: the connect is bounded by
/// `connectTimeout` (non-blocking connect and poll), and each read or write that sees no progress
/// for `idleTimeout` fails with `timedOut`. `abort()` may be called from another thread to wake a
/// blocked read (cancellation).
final class TCPStream: ByteStream, Sendable {
    let fd: Int32
    let idleTimeout: Double
    /// Whether `abort` or `close` ran (a failed read is then a cancellation), and whether the
    /// descriptor is closed (so it is shut down or closed once, never after reuse of its number).
    private let state = Mutex<(isClosed: Bool, fdClosed: Bool)>((false, false))

    private init(fd: Int32, idleTimeout: Double) {
        self.fd = fd
        self.idleTimeout = idleTimeout
    }

    deinit { close() }

    /// Resolves `host` and connects to the first address that answers.
    static func connect(host: String, port: Int, connectTimeout: Double, idleTimeout: Double) throws -> TCPStream {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0 else {
            throw HTTPClientError.resolveFailed(host: host, detail: String(cString: gai_strerror(status)))
        }
        return try connect(list, host: host, port: port, connectTimeout: connectTimeout, idleTimeout: idleTimeout)
    }

    private static func connect(
        _ list: UnsafeMutablePointer<addrinfo>?, host: String, port: Int, connectTimeout: Double, idleTimeout: Double
    ) throws -> TCPStream {
        defer { freeaddrinfo(list) }
        var lastError: HTTPClientError = .resolveFailed(host: host, detail: "no addresses")
        var entry = list
        while let info = entry?.pointee {
            entry = info.ai_next
            let fd = socket(
                info.ai_family, info.ai_socktype | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), info.ai_protocol)
            guard fd >= 0 else {
                lastError = .connectFailed(host: host, port: port, detail: SystemError.message(errno: errno))
                continue
            }
            do {
                try connect(fd, info.ai_addr, info.ai_addrlen, host: host, port: port, timeout: connectTimeout)
                try configure(fd, idleTimeout: idleTimeout)
                return TCPStream(fd: fd, idleTimeout: idleTimeout)
            } catch let error as HTTPClientError {
                Glibc.close(fd)
                lastError = error
            }
        }
        throw lastError
    }

    private static func connect(
        _ fd: Int32, _ address: UnsafeMutablePointer<sockaddr>?, _ length: socklen_t, host: String, port: Int, timeout: Double
    ) throws {
        if Glibc.connect(fd, address, length) == 0 { return }
        guard errno == EINPROGRESS else { throw connectError(errno, host: host, port: port) }
        var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        var ready: Int32
        repeat { ready = poll(&pfd, 1, milliseconds(timeout)) } while ready < 0 && errno == EINTR
        guard ready > 0 else { throw HTTPClientError.connectTimedOut(host: host, port: port, seconds: timeout) }
        var error: Int32 = 0
        var size = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size)
        guard error == 0 else { throw connectError(error, host: host, port: port) }
    }

    private static func connectError(_ code: Int32, host: String, port: Int) -> HTTPClientError {
        code == ECONNREFUSED
            ? .connectionRefused(host: host, port: port) : .connectFailed(host: host, port: port, detail: SystemError.message(errno: code))
    }

    /// Back to blocking mode with kernel-side idle timeouts, and no Nagle delay on request heads.
    private static func configure(_ fd: Int32, idleTimeout: Double) throws {
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK)
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let whole = idleTimeout.rounded(.down)
        var time = timeval(tv_sec: Int(whole), tv_usec: Int((idleTimeout - whole) * 1_000_000))
        if time.tv_sec == 0 && time.tv_usec == 0 { time.tv_usec = 1000 }
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let n = recv(fd, buffer.baseAddress, buffer.count, 0)
            if n >= 0 { return n }
            let code = errno
            if code == EINTR { continue }
            throw ioError(code, "receive")
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let n = send(fd, bytes.baseAddress.map { $0 + offset }, bytes.count - offset, Int32(MSG_NOSIGNAL))
            if n > 0 {
                offset += n
                continue
            }
            let code = errno
            if n < 0 && code == EINTR { continue }
            throw ioError(code, "send")
        }
    }

    func ioError(_ code: Int32, _ operation: String) -> HTTPClientError {
        if state.withLock({ $0.isClosed }) { return .cancelled }
        switch code {
        case EAGAIN, EWOULDBLOCK: return .timedOut(seconds: idleTimeout)
        case ECONNRESET, EPIPE: return .connectionClosed(detail: "(\(SystemError.message(errno: code)))")
        default: return .ioFailed(operation: operation, detail: SystemError.message(errno: code))
        }
    }

    /// Whether the idle connection is still usable: nothing to read (no EOF, no stray bytes).
    var isReusable: Bool {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&pfd, 1, 0) == 0
    }

    /// Wakes any blocked read or write; used for cancellation from another thread.
    func abort() {
        state.withLock {
            guard !$0.fdClosed else { return }
            $0.isClosed = true
            shutdown(fd, Int32(SHUT_RDWR))
        }
    }

    func close() {
        let shouldClose = state.withLock { state -> Bool in
            defer { state = (true, true) }
            return !state.fdClosed
        }
        if shouldClose { Glibc.close(fd) }
    }
}

func milliseconds(_ seconds: Double) -> Int32 {
    Int32(max(1, min(seconds * 1000, Double(Int32.max))))
}

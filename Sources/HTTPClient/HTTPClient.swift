#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import LinuxSupport
import Synchronization

/// A small HTTP/1.1 client over POSIX sockets and OpenSSL: keep-alive connections pooled per
/// host, Content-Length and chunked bodies both ways, redirects, connect and idle timeouts,
/// HTTP(S) proxies from the environment, and TLS verified against the system store plus
/// docker-style per-registry CA directories.
///
/// It exists so `skiff` does not link FoundationNetworking: URLSession loads libcurl and some
/// 25 more shared libraries at every process start (about 11 ms), and `skiff run` starts the
/// binary twice. Each request runs blocking I/O on its own thread; callers see an async API.
public final class HTTPClient: Sendable {
    /// Timeouts, limits, trust and proxies for one client.
    public struct Configuration: Sendable {
        /// Seconds to wait for a TCP connection (and for the TLS handshake's first bytes).
        public var connectTimeout: Double = 30
        /// Seconds without any progress on a read or write before the request fails.
        public var idleTimeout: Double = 30
        /// Bytes per second a request must average over any `lowSpeedTime` seconds (curl's
        /// `--speed-limit`); 0 turns the check off. Counts bytes read and written.
        public var lowSpeedLimit: Int = 0
        /// Seconds over which `lowSpeedLimit` is measured (curl's `--speed-time`); 0 turns it off.
        public var lowSpeedTime: Double = 0
        public var maxRedirects = 10
        public var maxIdleConnectionsPerHost = 8
        public var trust = TrustConfiguration()
        public var proxy = ProxyConfiguration.fromEnvironment()

        public init() {}
    }

    public typealias Sink = (UnsafeRawBufferPointer) throws -> Void
    public typealias ResponseCheck = (HTTPResponseHead) throws -> Void

    public let configuration: Configuration
    private let pool: ConnectionPool

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        pool = ConnectionPool(maxIdlePerKey: configuration.maxIdleConnectionsPerHost)
    }

    /// Closes the idle connections.
    public func shutdown() { pool.closeAll() }

    /// Sends `request`, following redirects. A 2xx body goes to `sink` when one is given (after
    /// `responseCheck` has seen the 2xx head); every other body, up to `bufferLimit` bytes, is kept
    /// in the result. Task cancellation aborts the transfer; so does `deadline` (seconds for the
    /// whole exchange, `deadlineExceeded`) and the configuration's low-speed limit (`tooSlow`).
    public func send(
        _ request: HTTPRequest, sink: Sink? = nil, responseCheck: ResponseCheck? = nil,
        bufferLimit: Int = 1 << 20, deadline: Double? = nil
    ) async throws -> HTTPResult {
        let cancellation = Cancellation()
        let work = UncheckedSendable((sink, responseCheck))
        let configuration = configuration
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<HTTPResult, Error>) in
                startThread {
                    let watchdog = TransferWatchdog(
                        cancellation: cancellation, lowSpeedLimit: configuration.lowSpeedLimit,
                        lowSpeedTime: configuration.lowSpeedTime, deadline: deadline)
                    defer { watchdog.stop() }
                    let result = Result {
                        try self.perform(
                            request, sink: work.value.0, responseCheck: work.value.1, bufferLimit: bufferLimit, cancellation: cancellation)
                    }
                    continuation.resume(with: result)
                }
            }
        } onCancel: {
            cancellation.cancel()
        }
    }

    /// The blocking exchange with redirects, on the calling thread.
    func perform(
        _ request: HTTPRequest, sink: Sink?, responseCheck: ResponseCheck?, bufferLimit: Int,
        cancellation: Cancellation
    ) throws -> HTTPResult {
        var current = request
        var redirects = 0
        while true {
            let (head, body) = try exchange(
                current, sink: sink, responseCheck: responseCheck, bufferLimit: bufferLimit, cancellation: cancellation)
            if let location = head.headers["Location"], Self.redirectStatuses.contains(head.status) {
                redirects += 1
                guard redirects <= configuration.maxRedirects else {
                    throw HTTPClientError.tooManyRedirects(limit: configuration.maxRedirects)
                }
                current = try Self.redirect(current, status: head.status, location: location)
                continue
            }
            return HTTPResult(status: head.status, headers: head.headers, body: body, url: current.url)
        }
    }

    static let redirectStatuses: Set<Int> = [301, 302, 303, 307, 308]

    /// The request to send after a redirect: the Location resolved against the current URL;
    /// GET without a body after 303 (and after 301/302 of a POST); credentials dropped when the
    /// redirect leaves the scheme, host or port (blob storage must not see registry tokens).
    static func redirect(_ request: HTTPRequest, status: Int, location: String) throws -> HTTPRequest {
        guard let target = URL(string: location, relativeTo: request.url)?.absoluteURL,
            let scheme = target.scheme?.lowercased(), scheme == "http" || scheme == "https", target.host != nil
        else {
            throw HTTPClientError.badRedirect(location: location)
        }
        var next = request
        next.url = target
        if status == 303 || ((status == 301 || status == 302) && request.method == "POST") {
            if request.method != "HEAD" { next.method = "GET" }
            next.body = .none
            next.headers.remove("Content-Type")
            next.headers.remove("Content-Length")
            next.headers.remove("Content-Range")
        } else if !request.body.isReplayable {
            throw HTTPClientError.badRedirect(location: location + " (the streamed request body cannot be sent again)")
        }
        let from = try Endpoint(request.url), to = try Endpoint(target)
        if from != to {
            next.headers.remove("Authorization")
            next.headers.remove("Cookie")
        }
        return next
    }

    // MARK: one exchange

    private func exchange(
        _ request: HTTPRequest, sink: Sink?, responseCheck: ResponseCheck?, bufferLimit: Int,
        cancellation: Cancellation
    ) throws -> (HTTPResponseHead, [UInt8]) {
        let endpoint = try Endpoint(request.url)
        let proxyURL = configuration.proxy.proxy(for: endpoint)
        let proxy = try proxyURL.map { try Endpoint($0) }
        if let proxy, proxy.secure {
            throw HTTPClientError.proxyFailed(proxy: proxy.description, detail: "only http:// proxies are supported")
        }
        let key = ConnectionKey(endpoint: endpoint, proxy: proxy)
        while true {
            try cancellation.check()
            let connection: Connection
            do {
                connection = try pool.checkout(key) ?? connect(key, proxyURL: proxyURL, cancellation: cancellation)
            } catch {
                cancellation.detach()
                if let reason = cancellation.reason { throw reason }
                throw error
            }
            cancellation.attach(connection.tcp)
            connection.reader.counter = cancellation.counter
            do {
                let (head, body, reusable) = try exchange(
                    request, on: connection, sink: sink, responseCheck: responseCheck,
                    bufferLimit: bufferLimit, counter: cancellation.counter)
                // Let go of the connection before the pool can hand it to another request.
                connection.reader.counter = nil
                cancellation.detach()
                if reusable { pool.checkin(connection) } else { connection.close() }
                return (head, body)
            } catch let error as HTTPClientError {
                cancellation.detach()
                connection.close()
                if let reason = cancellation.reason { throw reason }
                // A kept-alive connection the server closed while idle: try again on a new one.
                if connection.reused, !connection.reader.receivedAny, error.isTransient, request.body.isReplayable { continue }
                throw error
            } catch {
                cancellation.detach()
                connection.close()
                if let reason = cancellation.reason { throw reason }
                throw error
            }
        }
    }

    /// One request and response on `connection`; whether it may carry another request after.

    private func exchange(
        _ request: HTTPRequest, on connection: Connection, sink: Sink?, responseCheck: ResponseCheck?,
        bufferLimit: Int, counter: TransferCounter
    ) throws -> (HTTPResponseHead, [UInt8], reusable: Bool) {
        try sendRequest(request, on: connection, counter: counter)
        connection.reader.resetActivity()
        guard let head = try HTTPWire.readHead(connection.reader) else {
            throw HTTPClientError.connectionClosed(detail: "before answering")
        }
        let framing = try HTTPWire.framing(of: head, method: request.method)
        var body: [UInt8] = []
        if Self.redirectStatuses.contains(head.status), head.headers.contains("Location") {
            // The redirect's own body is of no interest; read it only to keep the connection.
            switch framing {
            case .none: break
            case .length(let length) where length <= 64 << 10:
                try HTTPWire.readBody(connection.reader, framing: framing) { _ in }
            default:
                return (head, [], false)
            }
        } else if (200..<300).contains(head.status), let sink {
            try responseCheck?(head)
            try HTTPWire.readBody(connection.reader, framing: framing, deliver: sink)
        } else {
            if (200..<300).contains(head.status) { try responseCheck?(head) }
            if case .length(let length) = framing, length > Int64(bufferLimit) { throw HTTPClientError.bodyTooLarge(limit: bufferLimit) }
            try HTTPWire.readBody(connection.reader, framing: framing) { bytes in
                guard body.count + bytes.count <= bufferLimit else { throw HTTPClientError.bodyTooLarge(limit: bufferLimit) }
                body.append(contentsOf: bytes)
            }
        }
        return (head, body, HTTPWire.keepsAlive(head, framing: framing))
    }

    private func sendRequest(_ request: HTTPRequest, on connection: Connection, counter: TransferCounter) throws {
        let endpoint = connection.key.endpoint
        let stream = CountingWriter(stream: connection.stream, counter: counter)
        var headers = request.headers
        var target = request.url.requestTarget
        if connection.key.proxy != nil && !endpoint.secure {
            // Plain HTTP through a proxy: absolute-form target, proxy credentials in the head.
            target = "http://\(endpoint.hostHeader)\(target)"
            if let authorization = configuration.proxy.httpProxy.flatMap(Self.proxyAuthorization) {
                headers["Proxy-Authorization"] = authorization
            }
        }
        switch request.body {
        case .none:
            try stream.write(
                HTTPWire.requestHead(
                    method: request.method, target: target, hostHeader: endpoint.hostHeader,
                    headers: headers, bodyLength: 0, chunked: false))
        case .bytes(let bytes):
            var message = try HTTPWire.requestHead(
                method: request.method, target: target, hostHeader: endpoint.hostHeader,
                headers: headers, bodyLength: Int64(bytes.count), chunked: false)
            if bytes.count <= 1 << 20 {
                message += bytes
                try stream.write(message)
            } else {
                try stream.write(message)
                try stream.write(bytes)
            }
        case .file(let path):
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                throw HTTPClientError.ioFailed(operation: "opening \(path) to upload", detail: SystemError.message(errno: errno))
            }
            defer { Glibc.close(fd) }
            var st = stat()
            guard fstat(fd, &st) == 0 else {
                throw HTTPClientError.ioFailed(operation: "stat of \(path)", detail: SystemError.message(errno: errno))
            }
            try stream.write(
                HTTPWire.requestHead(
                    method: request.method, target: target, hostHeader: endpoint.hostHeader,
                    headers: headers, bodyLength: Int64(st.st_size), chunked: false))
            var remaining = Int64(st.st_size)
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 << 10, alignment: 16)
            defer { buffer.deallocate() }
            while remaining > 0 {
                let n = Glibc.read(fd, buffer.baseAddress, min(buffer.count, Int(remaining)))
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else {
                    throw HTTPClientError.ioFailed(
                        operation: "reading \(path) to upload", detail: n == 0 ? "file shrank" : SystemError.message(errno: errno))
                }
                try stream.write(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
                remaining -= Int64(n)
            }
        case .stream(let next):
            try stream.write(
                HTTPWire.requestHead(
                    method: request.method, target: target, hostHeader: endpoint.hostHeader,
                    headers: headers, bodyLength: nil, chunked: true))
            while let slice = try next() {
                if slice.isEmpty { continue }
                try stream.write(HTTPWire.chunk(slice))
            }
            try stream.write(HTTPWire.chunk([]))
        }
    }

    // MARK: connecting

    /// A new connection; its socket is attached to `cancellation` at once, so a deadline or
    /// cancellation also ends a TLS handshake or proxy CONNECT that drags on.
    private func connect(_ key: ConnectionKey, proxyURL: URL?, cancellation: Cancellation) throws -> Connection {
        let endpoint = key.endpoint
        let via = key.proxy ?? endpoint
        let tcp: TCPStream
        do {
            tcp = try TCPStream.connect(
                host: via.host, port: via.port, connectTimeout: configuration.connectTimeout, idleTimeout: configuration.idleTimeout)
        } catch let error as HTTPClientError where key.proxy != nil {
            throw HTTPClientError.proxyFailed(proxy: via.description, detail: error.description)
        }
        cancellation.attach(tcp)
        guard endpoint.secure else { return Connection(key: key, stream: tcp, tcp: tcp) }
        do {
            if key.proxy != nil { try openTunnel(tcp, to: endpoint, proxyURL: proxyURL) }
            let trust = configuration.trust
            let context = try TLSContext.shared(
                systemDirectory: trust.systemDirectory,
                caFiles: trust.caFiles(host: endpoint.host, port: endpoint.port),
                client: trust.clientCertificate(host: endpoint.host, port: endpoint.port), host: endpoint.authority)
            let tls = try TLSStream(tcp: tcp, host: endpoint.host, name: endpoint.authority, context: context)
            return Connection(key: key, stream: tls, tcp: tcp)
        } catch {
            tcp.close()
            throw error
        }
    }

    /// CONNECT through an HTTP proxy, for TLS end to end with the target.
    private func openTunnel(_ tcp: TCPStream, to endpoint: Endpoint, proxyURL: URL?) throws {
        var head = "CONNECT \(endpoint.authority) HTTP/1.1\r\nHost: \(endpoint.authority)\r\n"
        if let authorization = proxyURL.flatMap(Self.proxyAuthorization) { head += "Proxy-Authorization: \(authorization)\r\n" }
        head += "\r\n"
        try tcp.write(Array(head.utf8))
        // The proxy sends nothing after its answer until the TLS handshake starts, so a small
        // reader that ends with the head loses no bytes.
        let reader = BufferedReader(stream: tcp, capacity: 16 << 10)
        guard let answer = try HTTPWire.readHead(reader) else {
            throw HTTPClientError.proxyFailed(proxy: proxyURL?.absoluteString ?? "", detail: "closed the connection on CONNECT")
        }
        guard (200..<300).contains(answer.status), reader.buffered == 0 else {
            throw HTTPClientError.proxyFailed(
                proxy: proxyURL?.absoluteString ?? "", detail: "CONNECT \(endpoint.authority) answered HTTP \(answer.status)")
        }
    }

    static func proxyAuthorization(_ url: URL) -> String? {
        guard let user = url.user(percentEncoded: false) else { return nil }
        let password = url.password(percentEncoded: false) ?? ""
        return "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
    }
}

/// Lets a request be ended from another thread (task cancellation, the watchdog's deadline or
/// low-speed limit): remembers the socket in use and shuts it down, which wakes a blocked read or
/// write at once, and keeps the first reason so the request fails with it. Also carries the
/// request's byte counter, which the watchdog reads.
final class Cancellation: Sendable {
    /// The first reason given, and the socket to shut down on abort.
    private let state = Mutex<(abortReason: HTTPClientError?, active: TCPStream?)>((nil, nil))
    let counter = TransferCounter()

    var isCancelled: Bool { reason != nil }
    /// Why the request was ended, if it was.
    var reason: HTTPClientError? { state.withLock { $0.abortReason } }

    func check() throws {
        if let reason { throw reason }
    }

    func cancel() { abort(because: .cancelled) }

    func abort(because reason: HTTPClientError) {
        let stream = state.withLock { state -> TCPStream? in
            if state.abortReason == nil { state.abortReason = reason }
            return state.active
        }
        stream?.abort()
    }

    func attach(_ stream: TCPStream) {
        let abortNow = state.withLock { state -> Bool in
            state.active = stream
            return state.abortReason != nil
        }
        if abortNow { stream.abort() }
    }

    func detach() { state.withLock { $0.active = nil } }
}

/// Writes to a connection's stream and counts the bytes for the low-speed limit, in slices of at
/// most 16 KiB (one TLS record), so a large body on a slow link shows progress as it goes
/// rather than only when the whole write returns.
struct CountingWriter {
    let stream: ByteStream
    let counter: TransferCounter
    static let slice = 16 << 10

    func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + Self.slice)
            try stream.write(UnsafeRawBufferPointer(rebasing: bytes[offset..<end]))
            counter.add(end - offset)
            offset = end
        }
    }
}

/// Carries non-Sendable closures to the worker thread; the caller awaits that thread, so they
/// are never used concurrently.
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// Runs `body` on a new detached thread with SIGPIPE blocked (a write to a closed TLS socket
/// then fails with EPIPE instead of killing the process; the pending signal dies with the thread).
func startThread(_ body: @escaping @Sendable () -> Void) {
    final class Box {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    let box = Unmanaged.passRetained(Box(body)).toOpaque()
    var thread = pthread_t()
    let started = pthread_create(
        &thread, nil,
        { raw in
            guard let raw else { return nil }
            var set = sigset_t()
            sigemptyset(&set)
            sigaddset(&set, SIGPIPE)
            pthread_sigmask(SIG_BLOCK, &set, nil)
            let box = Unmanaged<Box>.fromOpaque(raw).takeRetainedValue()
            box.body()
            return nil
        }, box)
    if started == 0 {
        pthread_detach(thread)
    } else {
        // No thread to be had: run here rather than never.
        Unmanaged<Box>.fromOpaque(box).takeRetainedValue().body()
    }
}

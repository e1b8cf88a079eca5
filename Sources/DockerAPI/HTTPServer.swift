#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import LinuxSupport
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// Where `skiff system service` listens: a Unix socket (the default), or a TCP port on loopback.
public enum ServiceAddress: Sendable, Equatable, CustomStringConvertible {
    case unix(path: String)
    case tcp(host: String, port: Int)

    public static let defaultSocket = "/run/skiff/skiff.sock"

    /// `unix:///PATH` or `tcp://127.0.0.1:PORT` (podman's `--host` forms). TCP binds loopback only:
    /// the API is root on this host to whoever reaches it, and there is no TLS yet.
    public init(parsing text: String) throws(APIError) {
        if text.hasPrefix("unix://") {
            let path = String(text.dropFirst(7))
            guard path.hasPrefix("/") else {
                throw .badRequest("--host \(text): a Unix socket needs an absolute path: unix:///run/skiff/skiff.sock")
            }
            self = .unix(path: path)
            return
        }
        if text.hasPrefix("tcp://") {
            let rest = String(text.dropFirst(6))
            guard let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]), (1...65535).contains(port) else {
                throw .badRequest("--host \(text): give a port: tcp://127.0.0.1:2375")
            }
            var host = String(rest[..<colon])
            if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            guard ["127.0.0.1", "localhost", "::1"].contains(host) else {
                throw .badRequest(
                    "--host \(text): TCP listens on loopback only (127.0.0.1 or [::1]): without TLS the API would hand root on this host to the network"
                )
            }
            self = .tcp(host: host == "localhost" ? "127.0.0.1" : host, port: port)
            return
        }
        throw .badRequest("--host \(text): use unix:///PATH or tcp://127.0.0.1:PORT")
    }

    public var description: String {
        switch self {
        case .unix(let path): return "unix://" + path
        case .tcp(let host, let port): return host.contains(":") ? "tcp://[\(host)]:\(port)" : "tcp://\(host):\(port)"
        }
    }
}

/// The HTTP/1.1 server: SwiftNIO's parser and event loop; each request is answered on a worker
/// thread (engine calls block: they lock the store, poll monitors, wait for exits), one request at
/// a time per connection, in order.
public final class APIServer: Sendable {
    private let router: Router
    private let group: MultiThreadedEventLoopGroup
    /// Connections open now and the monotonic time of the last one's end, for `--time`.
    private let activity = Mutex<(open: Int, lastChange: Double)>((0, MonotonicTime.seconds()))
    /// The listening channel while serving; `stop` closes it.
    private let listener = Mutex<(any Channel)?>(nil)
    private let stopRequested = Atomic<Bool>(false)

    public init(service: DockerService) {
        self.router = Router(service: service)
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    }

    /// Binds `address` and serves until `idleSeconds` pass without a connection (0: until the
    /// process is stopped). A Unix socket gets mode 0660 and is removed at the end.
    public func serve(at address: ServiceAddress, idleSeconds: Double) throws {
        let router = self.router
        let server = self
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let encoder = HTTPResponseEncoder()
                    // Bytes after a hijacking request's end belong to the raw stream that follows.
                    let decoder = ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes))
                    let handler = HTTPConnectionHandler(router: router, server: server, encoder: encoder, decoder: decoder)
                    try channel.pipeline.syncOperations.addHandlers([encoder, decoder, handler])
                }
            }
        let channel: any Channel
        switch address {
        case .unix(let path):
            let directory = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
            if !directory.isEmpty { _ = mkdir(directory, 0o755) }
            // Bound and listening under a staging name, then renamed into place: a client that sees
            // the socket can connect (between bind and listen it would be refused), and whatever
            // is at the path is replaced only by a socket ready to serve, never removed first.
            var existing = stat()
            if lstat(path, &existing) == 0, existing.st_mode & S_IFMT != S_IFSOCK {
                throw SystemError("\(path) exists and is not a socket: remove it or choose another --host", errno: EEXIST)
            }
            let staging = path + ".starting-\(getpid())"
            unlink(staging)
            channel = try bootstrap.bind(unixDomainSocketPath: staging, cleanupExistingSocketFile: true).wait()
            guard chmod(staging, 0o660) == 0, rename(staging, path) == 0 else {
                let error = SystemError("chmod 0660 and rename \(staging) to \(path)")
                unlink(staging)
                channel.close(promise: nil)
                throw error
            }
        case .tcp(let host, let port):
            channel = try bootstrap.bind(host: host, port: port).wait()
        }
        if idleSeconds > 0 {
            channel.eventLoop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .milliseconds(500)) { task in
                let idle = server.activity.withLock { $0.open == 0 && MonotonicTime.seconds() - $0.lastChange >= idleSeconds }
                if idle {
                    task.cancel()
                    channel.close(promise: nil)
                }
            }
        }
        listener.withLock { $0 = channel }
        if stopRequested.load(ordering: .acquiring) { channel.close(promise: nil) }
        try channel.closeFuture.wait()
        if case .unix(let path) = address { unlink(path) }
        try? group.syncShutdownGracefully()
    }

    /// Ends `serve` (from any thread): the listener closes, the socket file goes. Connections in
    /// progress are not waited for; containers run on under their monitors.
    public func stop() {
        stopRequested.store(true, ordering: .releasing)
        listener.withLock { $0?.close(promise: nil) }
    }

    func connectionOpened() {
        activity.withLock {
            $0.open += 1
            $0.lastChange = MonotonicTime.seconds()
        }
    }
    func connectionClosed() {
        activity.withLock {
            $0.open -= 1
            $0.lastChange = MonotonicTime.seconds()
        }
    }
}

/// The monotonic clock in seconds (CLOCK_MONOTONIC).
enum MonotonicTime {
    static func seconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }
}

/// A request as the router sees it: method, path without the version prefix, query, headers, body.
struct APIRequest: Sendable {
    var method: HTTPMethod
    var uri: String
    var headers: HTTPHeaders
    var body: [UInt8]
    var keepAlive: Bool
    /// The body was over `HTTPConnectionHandler.maximumBody` and was dropped (answered with a 400).
    var bodyTooLarge = false
}

/// One connection's HTTP side: gathers each request and hands it to the router on a worker thread.
final class HTTPConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// The largest request body accepted (a container create is a few KiB).
    static let maximumBody = 4 << 20
    /// The largest tar stream of `PUT /containers/{id}/archive` and `POST /images/load`: held in
    /// memory whole before the engine reads it.
    static let maximumUpload = 512 << 20

    /// The body limit of a request: uploads of tar streams get the larger one.
    static func bodyLimit(method: HTTPMethod, uri: String) -> Int {
        let path = uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? uri
        if method == .PUT && path.hasSuffix("/archive") { return maximumUpload }
        if method == .POST && path.hasSuffix("/images/load") { return maximumUpload }
        if method == .POST && (path == "/build" || path.hasSuffix("/build")) { return maximumUpload }
        return maximumBody
    }

    private let router: Router
    private let server: APIServer
    private let encoder: HTTPResponseEncoder
    private let decoder: ByteToMessageHandler<HTTPRequestDecoder>
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var tooLarge = false
    private var limit = maximumBody
    private var waiting: [APIRequest] = []
    private var busy = false
    private var responder: Responder?

    init(router: Router, server: APIServer, encoder: HTTPResponseEncoder, decoder: ByteToMessageHandler<HTTPRequestDecoder>) {
        self.router = router
        self.server = server
        self.encoder = encoder
        self.decoder = decoder
    }

    func channelActive(context: ChannelHandlerContext) {
        server.connectionOpened()
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        server.connectionClosed()
        responder?.markClosed()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            head = requestHead
            body = []
            tooLarge = false
            limit = Self.bodyLimit(method: requestHead.method, uri: requestHead.uri)
        case .body(var buffer):
            if body.count + buffer.readableBytes > limit {
                tooLarge = true
            } else if let bytes = buffer.readBytes(length: buffer.readableBytes) {
                body.append(contentsOf: bytes)
            }
        case .end:
            guard let requestHead = head else { return }
            head = nil
            var request = APIRequest(
                method: requestHead.method, uri: requestHead.uri, headers: requestHead.headers, body: tooLarge ? [] : body,
                keepAlive: requestHead.isKeepAlive)
            request.bodyTooLarge = tooLarge
            body = []
            waiting.append(request)
            processNext(context: context)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed, !busy, waiting.isEmpty {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A request the parser cannot read: docker's answer is a 400 and the end of the connection.
        if error is HTTPParserError, !busy {
            let bytes = APIError.badRequest("malformed HTTP request: \(error)").body
            var head = HTTPResponseHead(version: .http1_1, status: .badRequest)
            head.headers.add(name: "Content-Type", value: "application/json")
            head.headers.add(name: "Content-Length", value: "\(bytes.count)")
            head.headers.add(name: "Connection", value: "close")
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: bytes)))), promise: nil)
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in bound.value.close(promise: nil) }
            return
        }
        context.close(promise: nil)
    }

    private func processNext(context: ChannelHandlerContext) {
        guard !busy, !waiting.isEmpty else { return }
        busy = true
        let request = waiting.removeFirst()
        let responder = Responder(context: context, handler: self, keepAlive: request.keepAlive, headOnly: request.method == .HEAD)
        self.responder = responder
        let router = self.router
        DispatchQueue.global().async {
            router.handle(request, responder: responder)
            responder.finishIfNeeded()
        }
    }

    /// The response to the current request ended (on the event loop).
    fileprivate func responseEnded(context: ChannelHandlerContext, keepAlive: Bool) {
        busy = false
        responder = nil
        if !keepAlive {
            context.close(promise: nil)
            return
        }
        processNext(context: context)
    }

    /// Turns the connection into a raw byte stream after the response head `head` (on the event
    /// loop): the HTTP handlers leave the pipeline, bytes already read after the request go to `raw`.
    fileprivate func hijack(context: ChannelHandlerContext, connection: RawConnection, head: [UInt8]) {
        let raw = RawStreamHandler(stream: connection, server: server)
        let pipeline = context.pipeline.syncOperations
        do {
            try pipeline.addHandler(raw)
            pipeline.removeHandler(context: context, promise: nil)
            pipeline.removeHandler(decoder, promise: nil)
            pipeline.removeHandler(encoder, promise: nil)
        } catch {
            context.close(promise: nil)
            return
        }
        raw.writeRaw(head)
    }
}

/// The raw side of a hijacked connection (attach, exec start): bytes in go to `onInput`, the
/// client's half-close to `onInputClosed`.
final class RawStreamHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var context: ChannelHandlerContext?
    private let stream: RawConnection
    private let server: APIServer

    init(stream: RawConnection, server: APIServer) {
        self.stream = stream
        self.server = server
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func writeRaw(_ bytes: [UInt8]) {
        context?.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: bytes)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        if let bytes = buffer.readBytes(length: buffer.readableBytes) { stream.received(bytes) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed { stream.received(nil) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        stream.received(nil)
        stream.markClosed()
        server.connectionClosed()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
}

/// A hijacked connection as a worker thread uses it: blocking reads of what the client sends,
/// writes that go through the event loop.
final class RawConnection: Sendable {
    private struct State {
        var input: [UInt8] = []
        var inputEnded = false
        var closed = false
    }
    private let state = Mutex(State())
    private let condition = ConditionSignal()
    fileprivate let channel: any Channel

    init(channel: any Channel) { self.channel = channel }

    fileprivate func received(_ bytes: [UInt8]?) {
        state.withLock { state in
            if let bytes { state.input.append(contentsOf: bytes) } else { state.inputEnded = true }
        }
        condition.signal()
    }

    fileprivate func markClosed() {
        state.withLock {
            $0.closed = true
            $0.inputEnded = true
        }
        condition.signal()
    }

    var isClosed: Bool { state.withLock { $0.closed } }

    /// What the client sent since the last call; nil once its input ended and nothing is left.
    /// Waits up to `timeoutMS` for something (then returns []).
    func read(timeoutMS: Int) -> [UInt8]? {
        let deadline = MonotonicTime.seconds() + Double(timeoutMS) / 1000
        while true {
            let taken: [UInt8]? = state.withLock { state in
                if !state.input.isEmpty {
                    defer { state.input = [] }
                    return state.input
                }
                return state.inputEnded ? nil : []
            }
            guard let taken else { return nil }
            if !taken.isEmpty { return taken }
            let left = deadline - MonotonicTime.seconds()
            if left <= 0 { return [] }
            condition.wait(seconds: left)
        }
    }

    func write(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        channel.writeAndFlush(ByteBuffer(bytes: bytes), promise: nil)
    }

    /// Ends the connection once what was written has gone.
    func close() {
        let channel = self.channel
        channel.eventLoop.execute { channel.close(promise: nil) }
    }
}

/// A wake-up for a thread waiting on `RawConnection.read`: a counter under a mutex, polled in
/// short sleeps (Synchronization has no condition variable; a hijacked stream's input is rare
/// and small, so 5 ms of latency at worst is fine).
final class ConditionSignal: Sendable {
    private let generation = Atomic<Int>(0)

    func signal() { generation.add(1, ordering: .releasing) }

    func wait(seconds: Double) {
        let start = generation.load(ordering: .acquiring)
        let deadline = MonotonicTime.seconds() + seconds
        while generation.load(ordering: .acquiring) == start, MonotonicTime.seconds() < deadline {
            usleep(5000)
        }
    }
}

/// How a worker thread answers the request it was given: a whole response, a streamed one
/// (chunked or until the connection closes), or a hijacked raw stream.
final class Responder: Sendable {
    private enum Phase: Sendable { case idle, streaming, finished, hijacked }
    private let phase = Mutex(Phase.idle)
    private let closed = Atomic<Bool>(false)
    private let context: NIOLoopBound<ChannelHandlerContext>
    private let handler: NIOLoopBound<HTTPConnectionHandler>
    private let keepAlive: Bool
    /// The answer to a HEAD request: the head only, whatever the endpoint (or its error) says.
    /// A body after it would be read as the start of the next response on the connection.
    private let headOnly: Bool
    let channel: any Channel

    init(context: ChannelHandlerContext, handler: HTTPConnectionHandler, keepAlive: Bool, headOnly: Bool = false) {
        self.context = NIOLoopBound(context, eventLoop: context.eventLoop)
        self.handler = NIOLoopBound(handler, eventLoop: context.eventLoop)
        self.keepAlive = keepAlive
        self.headOnly = headOnly
        self.channel = context.channel
    }

    /// The client went away.
    var isClosed: Bool { closed.load(ordering: .acquiring) }
    fileprivate func markClosed() { closed.store(true, ordering: .releasing) }

    private func onLoop(_ body: @escaping @Sendable (ChannelHandlerContext, HTTPConnectionHandler) -> Void) {
        let context = self.context
        let handler = self.handler
        channel.eventLoop.execute { body(context.value, handler.value) }
    }

    /// A whole response.
    func send(status: HTTPResponseStatus, headers: [(String, String)] = [], body: [UInt8], contentType: String = "application/json") {
        let started = phase.withLock { phase -> Bool in
            guard phase == .idle else { return false }
            phase = .finished
            return true
        }
        guard started else { return }
        var responseHead = HTTPResponseHead(version: .http1_1, status: status)
        for (name, value) in Self.standardHeaders + headers { responseHead.headers.add(name: name, value: value) }
        if !body.isEmpty || status.mayHaveResponseBody { responseHead.headers.add(name: "Content-Type", value: contentType) }
        responseHead.headers.add(name: "Content-Length", value: "\(body.count)")
        let head = responseHead
        let keepAlive = self.keepAlive
        let body = headOnly ? [] : body
        onLoop { context, handler in
            context.write(NIOAny(HTTPServerResponsePart.head(head)), promise: nil)
            if !body.isEmpty { context.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil) }
            context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)), promise: nil)
            handler.responseEnded(context: context, keepAlive: keepAlive)
        }
    }

    func send(_ error: APIError) {
        send(status: error.status, body: error.body)
    }

    func sendJSON<T: Encodable>(_ value: T, status: HTTPResponseStatus = .ok) {
        do {
            send(status: status, body: try APIJSON.encode(value))
        } catch {
            send(.internalError("cannot encode the response: \(error)"))
        }
    }

    /// Starts a chunked response (logs -f, wait, pull progress): the head is flushed at once.
    func startStream(status: HTTPResponseStatus = .ok, contentType: String, headers: [(String, String)] = []) {
        let started = phase.withLock { phase -> Bool in
            guard phase == .idle else { return false }
            phase = .streaming
            return true
        }
        guard started else { return }
        var responseHead = HTTPResponseHead(version: .http1_1, status: status)
        for (name, value) in Self.standardHeaders + headers { responseHead.headers.add(name: name, value: value) }
        responseHead.headers.add(name: "Content-Type", value: contentType)
        responseHead.headers.add(name: "Transfer-Encoding", value: "chunked")
        let head = responseHead
        onLoop { context, _ in context.writeAndFlush(NIOAny(HTTPServerResponsePart.head(head)), promise: nil) }
    }

    /// A piece of a streamed response; false when the client is gone (stop producing).
    @discardableResult
    func write(_ bytes: [UInt8]) -> Bool {
        if isClosed { return false }
        guard !bytes.isEmpty else { return true }
        onLoop { context, _ in
            context.writeAndFlush(NIOAny(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(bytes: bytes)))), promise: nil)
        }
        return true
    }

    /// Ends a streamed response.
    func finish() {
        let streaming = phase.withLock { phase -> Bool in
            guard phase == .streaming else { return false }
            phase = .finished
            return true
        }
        guard streaming else { return }
        let keepAlive = self.keepAlive
        onLoop { context, handler in
            context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)), promise: nil)
            handler.responseEnded(context: context, keepAlive: keepAlive)
        }
    }

    /// What the router left unanswered gets a 500, so no client waits forever.
    func finishIfNeeded() {
        switch phase.withLock({ $0 }) {
        case .idle: send(.internalError("the request ended without a response"))
        case .streaming: finish()
        case .finished, .hijacked: break
        }
    }

    /// Hijacks the connection: the response head (101 UPGRADED when the client asked to upgrade,
    /// else 200) goes out raw, then the connection is a byte stream both ways.
    func hijack(request: APIRequest, contentType: String) -> RawConnection {
        let upgrade = request.headers[canonicalForm: "connection"].contains { $0.lowercased() == "upgrade" }
        phase.withLock { $0 = .hijacked }
        var head = upgrade ? "HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n" : "HTTP/1.1 200 OK\r\n"
        head += "Content-Type: \(contentType)\r\nApi-Version: \(APIVersion.current)\r\n\r\n"
        let connection = RawConnection(channel: channel)
        let bytes = Array(head.utf8)
        onLoop { context, handler in
            handler.hijack(context: context, connection: connection, head: bytes)
        }
        return connection
    }

    static let standardHeaders: [(String, String)] = [
        ("Api-Version", APIVersion.current), ("Docker-Experimental", "false"), ("Ostype", "linux"),
        ("Server", "skiff (Docker Engine API \(APIVersion.current))"),
    ]
}

extension HTTPResponseStatus {
    var mayHaveResponseBody: Bool {
        switch self {
        case .noContent, .notModified, .switchingProtocols: return false
        default: return true
        }
    }
}

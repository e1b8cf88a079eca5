#if canImport(Glibc)
import Glibc
#endif
import CShim
import LinuxSupport
import Synchronization

/// A resolver the embedded DNS forwards names it does not know to (IPv4 or IPv6, port 53 unless
/// a test says otherwise).
public struct DNSUpstream: Sendable, Equatable {
    /// Its address: 4 bytes (IPv4) or 16 (IPv6).
    public var address: [UInt8]
    public var port: UInt16

    public init(address: IPv4Address, port: UInt16 = 53) {
        self.init(bytes: [24, 16, 8, 0].map { UInt8((address.value >> $0) & 0xFF) }, port: port)
    }

    init(bytes: [UInt8], port: UInt16) {
        self.address = bytes
        self.port = port
    }

    /// An IPv4 or IPv6 address as text (no zone: a link-local server with `%IF` is not taken).
    public init?(_ text: some StringProtocol, port: UInt16 = 53) {
        if let v4 = IPv4Address(text) {
            self.init(address: v4, port: port)
            return
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, String(text), &v6) == 1 else { return nil }
        self.init(bytes: withUnsafeBytes(of: &v6) { Array($0) }, port: port)
    }

    /// The nameservers of a resolv.conf text, at most three (the resolver's own limit); loopback
    /// ones included, since forwarding happens in the host's namespace.
    public static func parse(resolvConf text: String) -> [DNSUpstream] {
        var servers: [DNSUpstream] = []
        for line in text.split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count > 1, fields[0] == "nameserver", let server = DNSUpstream(fields[1]) else { continue }
            if servers.count < 3 { servers.append(server) }
        }
        return servers
    }

    /// A UDP socket connected to it, or -1.
    func connectedSocket() -> Int32 {
        let family = address.count == 16 ? AF_INET6 : AF_INET
        let fd = socket(family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return -1 }
        var rc: Int32
        if address.count == 16 {
            var target = sockaddr_in6()
            target.sin6_family = sa_family_t(AF_INET6)
            target.sin6_port = port.bigEndian
            withUnsafeMutableBytes(of: &target.sin6_addr) { $0.copyBytes(from: address) }
            rc = withUnsafePointer(to: &target) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        } else {
            var target = sockaddr_in()
            target.sin_family = sa_family_t(AF_INET)
            target.sin_port = port.bigEndian
            withUnsafeMutableBytes(of: &target.sin_addr) { $0.copyBytes(from: address) }
            rc = withUnsafePointer(to: &target) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        guard rc == 0 else {
            close(fd)
            return -1
        }
        return fd
    }
}

/// docker's 127.0.0.11 for a container on a user network, served by its monitor: a UDP and a
/// TCP socket made in the container's network namespace (bound to `address`:53 there), answered
/// on one thread of the monitor, which lives in the host's namespace, so forwarded questions go
/// to the host's resolvers from there (a loopback resolver of the host, 127.0.0.53, works). Our
/// names are answered from `names`; the rest is forwarded to each upstream in turn (an upstream
/// that refuses is skipped at once, a silent one after `forwardTimeout`), and answered SERVFAIL
/// when there is none or none answers. Forwards wait side by side (at most `maxForwards`), so
/// our own names answer at once meanwhile.
public final class EmbeddedDNS: Sendable {
    public static let containerAddress = "127.0.0.11"

    let udp: Int32
    let tcp: Int32
    let wake: (read: Int32, write: Int32)
    let names: @Sendable () -> DNSNames
    let upstreams: [DNSUpstream]
    let forwardTimeout: Double
    private let thread = Mutex<BackgroundThread<Void>?>(nil)

    /// Serves on the sockets given (bound, the TCP one listening); they are closed by `stop`.
    public init(
        udp: Int32, tcp: Int32, upstreams: [DNSUpstream], forwardTimeout: Double = 2,
        names: @escaping @Sendable () -> DNSNames
    ) throws {
        self.wake = try Descriptors.pipe()
        // A client that resets before the accept must not leave the thread blocked in it.
        _ = fcntl(tcp, F_SETFL, fcntl(tcp, F_GETFL) | O_NONBLOCK)
        self.udp = udp
        self.tcp = tcp
        self.upstreams = upstreams
        self.forwardTimeout = forwardTimeout
        self.names = names
        thread.withLock { $0 = BackgroundThread { [self] in serve() } }
    }

    /// Makes the sockets in the network namespace at `netns` on `address`:`port` and serves them.
    public static func listen(
        netns: String, address: String = containerAddress, port: UInt16 = 53, upstreams: [DNSUpstream],
        names: @escaping @Sendable () -> DNSNames
    ) throws -> EmbeddedDNS {
        guard let ip = IPv4Address(address) else {
            throw SystemError("the embedded DNS address \(address) is not an IPv4 address", errno: EINVAL)
        }
        let udp = try bound(netns: netns, type: Int32(SOCK_DGRAM.rawValue), ip: ip, port: port)
        let tcp: Int32
        do {
            tcp = try bound(netns: netns, type: Int32(SOCK_STREAM.rawValue), ip: ip, port: port)
            _ = try sysCall("listen on \(address):\(port) (TCP) in \(netns)") { Glibc.listen(tcp, 16) }
        } catch {
            close(udp)
            throw error
        }
        do {
            return try EmbeddedDNS(udp: udp, tcp: tcp, upstreams: upstreams, names: names)
        } catch {
            close(udp)
            close(tcp)
            throw error
        }
    }

    static func bound(netns: String, type: Int32, ip: IPv4Address, port: UInt16) throws -> Int32 {
        let fd = skiff_socket_in_netns(netns, type)
        guard fd >= 0 else { throw SystemError("socket for the embedded DNS in \(netns)") }
        var address = sockaddr_in(ip, port)
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            let error = SystemError("bind the embedded DNS to \(ip):\(port) in \(netns)")
            close(fd)
            throw error
        }
        return fd
    }

    /// Ends the serving thread and closes the sockets; a second call does nothing (it must not
    /// write to a descriptor number that may be reused by then).
    public func stop() {
        let running = thread.withLock { current in
            defer { current = nil }
            return current
        }
        guard let running else { return }
        var byte: UInt8 = 1
        _ = write(wake.write, &byte, 1)
        try? running.value()
        close(udp)
        close(tcp)
        close(wake.read)
        close(wake.write)
    }

    /// Who asked a forwarded question.
    enum Client {
        case udp(sockaddr_in, socklen_t)
        /// The connection, closed once answered.
        case tcp(Int32)
    }

    /// A question forwarded and not answered yet: its socket to the upstream it went to.
    struct Forward {
        var socket: Int32
        var upstream: Int
        var deadline: Double
        var query: DNSMessage.Query
        var message: [UInt8]
        var client: Client
    }

    /// At most this many questions wait on upstreams at once; more are answered SERVFAIL.
    static let maxForwards = 64

    /// What to do with one message.
    enum Outcome {
        case reply([UInt8])
        case forward(DNSMessage.Query)
        /// Not a query: never answered, so two resolvers cannot bounce replies.
        case ignore
    }

    /// The loop: questions from the container, replies from upstreams, each forward's deadline.
    /// Forwards wait side by side, so a slow upstream never holds up our own names.
    func serve() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        var forwards: [Forward] = []
        defer {
            for forward in forwards {
                close(forward.socket)
                if case .tcp(let connection) = forward.client { close(connection) }
            }
        }
        while true {
            var fds = [wake.read, udp, tcp].map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            fds += forwards.map { pollfd(fd: $0.socket, events: Int16(POLLIN), revents: 0) }
            let now = MonotonicClock.seconds()
            let timeout = forwards.map(\.deadline).min().map { Int32(max(0, ($0 - now) * 1000)) + 1 } ?? -1
            guard poll(&fds, nfds_t(fds.count), timeout) >= 0 || errno == EINTR else { return }
            if fds[0].revents != 0 { return }
            var kept: [Forward] = []
            let checked = MonotonicClock.seconds()
            for (index, forward) in forwards.enumerated() {
                if fds[3 + index].revents != 0 {
                    let count = buffer.withUnsafeMutableBytes { recv(forward.socket, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                    if count >= DNSMessage.headerSize, DNSMessage.read16(buffer, 0) == forward.query.id, buffer[2] & 0x80 != 0 {
                        close(forward.socket)
                        deliver(Array(buffer[0..<count]), to: forward.client)
                        continue
                    }
                    // ECONNREFUSED: nothing listens there, the next upstream at once.
                    if count < 0, errno != EAGAIN, errno != EINTR {
                        retry(forward, into: &kept)
                        continue
                    }
                }
                if checked >= forward.deadline { retry(forward, into: &kept) } else { kept.append(forward) }
            }
            forwards = kept
            if fds[1].revents & Int16(POLLIN) != 0 { serveUDP(&buffer, &forwards) }
            if fds[2].revents & Int16(POLLIN) != 0 { serveTCP(&forwards) }
        }
    }

    /// Sends a forward that failed at its upstream to the next one, or answers SERVFAIL.
    func retry(_ forward: Forward, into forwards: inout [Forward]) {
        close(forward.socket)
        if let next = send(forward.message, forward.query, from: forward.upstream + 1, for: forward.client) {
            forwards.append(next)
        } else {
            deliver(DNSMessage.reply(to: forward.query, rcode: DNSMessage.serverFailure, authoritative: false), to: forward.client)
        }
    }

    /// `message` sent to the first upstream from index `first` on that takes it.
    func send(_ message: [UInt8], _ query: DNSMessage.Query, from first: Int, for client: Client) -> Forward? {
        for index in upstreams.indices where index >= first {
            // An upstream whose family the host lacks (no IPv6) is skipped like one that refuses.
            let fd = upstreams[index].connectedSocket()
            guard fd >= 0 else { continue }
            if message.withUnsafeBytes({ Glibc.send(fd, $0.baseAddress, $0.count, 0) }) == message.count {
                return Forward(
                    socket: fd, upstream: index, deadline: MonotonicClock.seconds() + forwardTimeout, query: query, message: message,
                    client: client)
            }
            close(fd)
        }
        return nil
    }

    /// Starts forwarding one question, or answers SERVFAIL when there is no upstream, none takes
    /// it, or too many wait already.
    func forward(_ message: [UInt8], _ query: DNSMessage.Query, for client: Client, into forwards: inout [Forward]) {
        if forwards.count < Self.maxForwards, let started = send(message, query, from: 0, for: client) {
            forwards.append(started)
        } else {
            deliver(DNSMessage.reply(to: query, rcode: DNSMessage.serverFailure, authoritative: false), to: client)
        }
    }

    func deliver(_ reply: [UInt8], to client: Client) {
        switch client {
        case .udp(var address, let length):
            _ = reply.withUnsafeBytes { raw in
                withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(udp, raw.baseAddress, raw.count, Int32(MSG_DONTWAIT), $0, length)
                    }
                }
            }
        case .tcp(let connection):
            defer { close(connection) }
            let framed = [UInt8(reply.count >> 8), UInt8(reply.count & 0xFF)] + reply
            let deadline = MonotonicClock.seconds() + 1
            var sent = 0
            while sent < framed.count, MonotonicClock.seconds() < deadline {
                let written = framed[sent...].withUnsafeBytes { Glibc.send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if written > 0 {
                    sent += written
                } else if errno == EAGAIN || errno == EINTR {
                    var fd = pollfd(fd: connection, events: Int16(POLLOUT), revents: 0)
                    _ = poll(&fd, 1, 100)
                } else {
                    return
                }
            }
        }
    }

    func serveUDP(_ buffer: inout [UInt8], _ forwards: inout [Forward]) {
        var client = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let count = buffer.withUnsafeMutableBytes { raw in
            withUnsafeMutablePointer(to: &client) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    recvfrom(udp, raw.baseAddress, raw.count, Int32(MSG_DONTWAIT), $0, &length)
                }
            }
        }
        guard count > 0 else { return }
        let message = Array(buffer[0..<count])
        switch answer(message, limit: DNSMessage.udpLimit) {
        case .reply(let reply): deliver(reply, to: .udp(client, length))
        case .forward(let query): forward(message, query, for: .udp(client, length), into: &forwards)
        case .ignore: break
        }
    }

    /// One question per connection, read within a second (a client that stalls is dropped).
    func serveTCP(_ forwards: inout [Forward]) {
        let connection = accept(tcp, nil, nil)
        guard connection >= 0 else { return }
        _ = fcntl(connection, F_SETFD, FD_CLOEXEC)
        _ = fcntl(connection, F_SETFL, O_NONBLOCK)
        let deadline = MonotonicClock.seconds() + 1
        guard let prefix = readFully(connection, 2, deadline: deadline),
            case let size = Int(prefix[0]) << 8 | Int(prefix[1]), size >= DNSMessage.headerSize,
            let message = readFully(connection, size, deadline: deadline)
        else {
            close(connection)
            return
        }
        switch answer(message, limit: 65535) {
        case .reply(let reply): deliver(reply, to: .tcp(connection))
        case .forward(let query): forward(message, query, for: .tcp(connection), into: &forwards)
        case .ignore: close(connection)
        }
    }

    func readFully(_ fd: Int32, _ count: Int, deadline: Double) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let left = deadline - MonotonicClock.seconds()
            guard left > 0 else { return nil }
            var pending = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pending, 1, Int32(left * 1000) + 1) > 0 else { continue }
            let read = bytes[got...].withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if read == 0 { return nil }
            if read < 0 {
                if errno == EAGAIN || errno == EINTR { continue }
                return nil
            }
            got += read
        }
        return bytes
    }

    /// The reply to one message from our names (or an error), or the question to forward.
    func answer(_ message: [UInt8], limit: Int) -> Outcome {
        let query: DNSMessage.Query
        do {
            query = try DNSMessage.parseQuery(message)
        } catch .notAQuery {
            return .ignore
        } catch {
            return DNSMessage.headerReply(to: message, rcode: DNSMessage.formatError).map { .reply($0) } ?? .ignore
        }
        switch names().resolve(query) {
        case .local(let rcode, let answers): return .reply(DNSMessage.reply(to: query, rcode: rcode, answers: answers, limit: limit))
        case .forward: return .forward(query)
        }
    }
}

extension sockaddr_in {
    init(_ address: IPv4Address, _ port: UInt16) {
        self.init()
        sin_family = sa_family_t(AF_INET)
        sin_port = port.bigEndian
        sin_addr.s_addr = address.value.bigEndian
    }
}

extension HostFiles {
    /// A user network container's resolv.conf, as docker writes it: the embedded DNS as its only
    /// nameserver, the search domains and options of `resolvConf(...)` kept, `ndots:0` so a
    /// peer's bare name is asked as it is first. `upstream` is the nameservers the embedded DNS
    /// forwards to: --dns when given, else the host's (loopback ones too: forwarding happens in
    /// the host's namespace).
    public static func embeddedDNSResolvConf(host: String?, dns: [String], search: [String]) throws -> (
        resolvConf: String, upstream: String
    ) {
        let lines = try resolvConf(host: host, dns: dns, search: search, privateNetwork: false)
            .split(separator: "\n").map(String.init)
        let upstream = lines.filter { $0.hasPrefix("nameserver ") }
        let searches = lines.filter { $0.hasPrefix("search ") }
        var others = lines.filter { !$0.hasPrefix("nameserver ") && !$0.hasPrefix("search ") }
        if let index = others.firstIndex(where: { $0.hasPrefix("options ") }) {
            if !others[index].contains("ndots:") { others[index] += " ndots:0" }
        } else {
            others.append("options ndots:0")
        }
        let text = searches + ["nameserver \(EmbeddedDNS.containerAddress)"] + others
        return (text.map { $0 + "\n" }.joined(), upstream.map { $0 + "\n" }.joined())
    }
}

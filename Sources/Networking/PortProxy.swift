#if canImport(Glibc)
import Glibc
#endif
import LinuxSupport
import Synchronization

/// docker's userland proxy, for the published ports the kernel cannot forward: TCP connections
/// accepted on the host's IPv6 addresses (`-p [::1]:8080:80`) relayed to the container's IPv4
/// address, both ways with half-closes, on one thread of the monitor. Connections from the host
/// are not trusted more than any client: each direction holds at most `bufferLimit` bytes (a
/// side that stops reading stops the other side being read), at most `maxRelays` connections are
/// relayed at once (more are closed at accept), and a connect to the container that fails or
/// takes longer than `connectTimeout` closes the client.
public final class PortProxy: Sendable {
    public struct Route: Sendable {
        /// A bound, listening socket; its owner (the `PortReservation`) closes it after `stop`.
        public var listener: Int32
        public var target: IPv4Address
        public var port: UInt16

        public init(listener: Int32, target: IPv4Address, port: UInt16) {
            self.listener = listener
            self.target = target
            self.port = port
        }
    }

    static let bufferLimit = 64 << 10
    /// Two descriptors each: well inside the monitor's usual limit of 1024.
    static let maxRelays = 256
    static let connectTimeout = 5.0

    let routes: [Route]
    let wake: (read: Int32, write: Int32)
    private let thread = Mutex<BackgroundThread<Void>?>(nil)

    /// Serves `routes` (listening sockets that stay the caller's: `stop` leaves them open).
    public init(routes: [Route]) throws {
        self.wake = try Descriptors.pipe()
        for route in routes { _ = fcntl(route.listener, F_SETFL, fcntl(route.listener, F_GETFL) | O_NONBLOCK) }
        self.routes = routes
        thread.withLock { $0 = BackgroundThread { [self] in serve() } }
    }

    /// Ends the thread and closes every relayed connection; a second call does nothing.
    public func stop() {
        let running = thread.withLock { current in
            defer { current = nil }
            return current
        }
        guard let running else { return }
        var byte: UInt8 = 1
        _ = write(wake.write, &byte, 1)
        try? running.value()
        close(wake.read)
        close(wake.write)
    }

    /// One relayed connection: the client accepted on the host, the connection to the container.
    struct Relay {
        var client: Int32
        var upstream: Int32
        var connecting = true
        var deadline: Double
        /// Bytes read from one side and not yet written to the other.
        var toUpstream: [UInt8] = []
        var toClient: [UInt8] = []
        var clientDone = false
        var upstreamDone = false
        var upstreamShut = false
        var clientShut = false
        var failed = false

        var finished: Bool { failed || (clientShut && upstreamShut) }
    }

    func serve() {
        var relays: [Relay] = []
        var buffer = [UInt8](repeating: 0, count: Self.bufferLimit)
        defer {
            for relay in relays {
                close(relay.client)
                close(relay.upstream)
            }
        }
        // After an accept that failed for want of descriptors or memory (EMFILE...), the
        // listeners rest a moment: polling them at once would spin on the same waiting client.
        var restUntil = 0.0
        while true {
            let accepting = relays.count < Self.maxRelays && MonotonicClock.seconds() >= restUntil
            var fds = [pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0)]
            fds += routes.map { pollfd(fd: $0.listener, events: accepting ? Int16(POLLIN) : 0, revents: 0) }
            for relay in relays {
                var client: Int16 = 0
                var upstream: Int16 = 0
                if relay.connecting {
                    upstream = Int16(POLLOUT)
                } else {
                    if !relay.clientDone && relay.toUpstream.count < Self.bufferLimit { client |= Int16(POLLIN) }
                    if !relay.toClient.isEmpty { client |= Int16(POLLOUT) }
                    if !relay.upstreamDone && relay.toClient.count < Self.bufferLimit { upstream |= Int16(POLLIN) }
                    if !relay.toUpstream.isEmpty { upstream |= Int16(POLLOUT) }
                }
                fds.append(pollfd(fd: relay.client, events: client, revents: 0))
                fds.append(pollfd(fd: relay.upstream, events: upstream, revents: 0))
            }
            let now = MonotonicClock.seconds()
            let wakeups = relays.filter(\.connecting).map(\.deadline) + (restUntil > now ? [restUntil] : [])
            let timeout = wakeups.min().map { Int32(max(0, ($0 - now) * 1000)) + 1 } ?? -1
            guard poll(&fds, nfds_t(fds.count), timeout) >= 0 || errno == EINTR else { return }
            if fds[0].revents != 0 { return }
            let base = 1 + routes.count
            for index in relays.indices {
                step(&relays[index], client: fds[base + 2 * index].revents, upstream: fds[base + 2 * index + 1].revents, buffer: &buffer)
            }
            relays.removeAll { relay in
                guard relay.finished else { return false }
                close(relay.client)
                close(relay.upstream)
                return true
            }
            for (index, route) in routes.enumerated() where fds[1 + index].revents & Int16(POLLIN) != 0 {
                accepting: while relays.count < Self.maxRelays {
                    switch accept(route) {
                    case .relay(let relay): relays.append(relay)
                    case .none: break accepting
                    case .failed:
                        restUntil = MonotonicClock.seconds() + 0.1
                        break accepting
                    }
                }
            }
        }
    }

    enum Accepted {
        case relay(Relay)
        /// No client waits.
        case none
        /// Out of descriptors or memory: the client waits in the backlog.
        case failed
    }

    /// Accepts one client of `route` and starts its connect to the container.
    func accept(_ route: Route) -> Accepted {
        while true {
            let client = Glibc.accept(route.listener, nil, nil)
            if client < 0 {
                if errno == ECONNABORTED || errno == EINTR { continue }
                return errno == EAGAIN || errno == EWOULDBLOCK ? .none : .failed
            }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            _ = fcntl(client, F_SETFL, fcntl(client, F_GETFL) | O_NONBLOCK)
            let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
            guard upstream >= 0 else {
                close(client)
                return .failed
            }
            var address = sockaddr_in(route.target, route.port)
            let rc = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            if rc != 0 && errno != EINPROGRESS {
                close(client)
                close(upstream)
                continue
            }
            return .relay(Relay(client: client, upstream: upstream, deadline: MonotonicClock.seconds() + Self.connectTimeout))
        }
    }

    /// Moves what each side has for the other, as far as the sockets take it now.
    func step(_ relay: inout Relay, client: Int16, upstream: Int16, buffer: inout [UInt8]) {
        if relay.connecting {
            if upstream == 0 {
                if MonotonicClock.seconds() >= relay.deadline { relay.failed = true }
                return
            }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(relay.upstream, SOL_SOCKET, SO_ERROR, &error, &length)
            if error != 0 {
                relay.failed = true
                return
            }
            relay.connecting = false
            return
        }
        if client & Int16(POLLIN | POLLHUP | POLLERR) != 0, !relay.clientDone {
            relay.clientDone = !pull(relay.client, into: &relay.toUpstream, buffer: &buffer, failed: &relay.failed)
        }
        if upstream & Int16(POLLIN | POLLHUP | POLLERR) != 0, !relay.upstreamDone {
            relay.upstreamDone = !pull(relay.upstream, into: &relay.toClient, buffer: &buffer, failed: &relay.failed)
        }
        if !relay.toUpstream.isEmpty { push(relay.upstream, from: &relay.toUpstream, failed: &relay.failed) }
        if !relay.toClient.isEmpty { push(relay.client, from: &relay.toClient, failed: &relay.failed) }
        // A side that ended gets its end passed on once what it sent was delivered.
        if relay.clientDone, relay.toUpstream.isEmpty, !relay.upstreamShut {
            shutdown(relay.upstream, Int32(SHUT_WR))
            relay.upstreamShut = true
        }
        if relay.upstreamDone, relay.toClient.isEmpty, !relay.clientShut {
            shutdown(relay.client, Int32(SHUT_WR))
            relay.clientShut = true
        }
    }

    /// Reads what `fd` has into `pending` (up to the limit); false at its end (or an error).
    func pull(_ fd: Int32, into pending: inout [UInt8], buffer: inout [UInt8], failed: inout Bool) -> Bool {
        let room = Self.bufferLimit - pending.count
        guard room > 0 else { return true }
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, room) }
        if count > 0 {
            pending += buffer[0..<count]
            return true
        }
        if count < 0 && (errno == EAGAIN || errno == EINTR) { return true }
        if count < 0 { failed = true }
        return false
    }

    /// Writes as much of `pending` to `fd` as it takes now.
    func push(_ fd: Int32, from pending: inout [UInt8], failed: inout Bool) {
        let count = pending.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if count > 0 {
            pending.removeFirst(count)
        } else if count < 0 && errno != EAGAIN && errno != EINTR {
            failed = true
        }
    }
}

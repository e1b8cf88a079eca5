#if canImport(Glibc)
import Glibc
#endif
import CShim

/// virtio-vsock (virtio 1.2, section 5.10) implemented in userspace, bridged to Unix sockets the
/// way Firecracker does: a host process connects to `socketPath` and writes "CONNECT PORT\n" to
/// reach guest port PORT (answered with "OK HOSTPORT\n"); a guest connection to the host (CID 2)
/// on port P is connected to the Unix socket "socketPath_P". Without a socket path neither
/// exists: guest connections to the host are reset. A caller can also hand over already
/// connected stream descriptors (`HostStream`, one end of a socket pair): the device connects
/// each to its guest port, asking again every `streamRetryMilliseconds` while the guest answers
/// with a reset (nothing listens there yet: the guest is still booting), and then bridges it
/// with no "OK" line, so the descriptor carries only the guest's bytes. Stream sockets only,
/// with the spec's credit-based flow control in both directions.
/// Unchecked Sendable: all mutable state is touched only from the `VirtioDevice` methods, which
/// the transport calls under its lock (see `VirtioDevice`).
public final class VirtioVsock: VirtioDevice, VirtioBackendOwner, @unchecked Sendable {
    public static let hostCID: UInt64 = 2
    public static let queueSize: UInt16 = 256
    static let receiveQueue = 0, transmitQueue = 1
    /// What we let the guest have in flight towards one host socket.
    static let bufferAllocation: UInt32 = 256 * 1024
    static let firstEphemeralPort: UInt32 = 1 << 30
    static let listenerToken: UInt64 = UInt64.max
    static let retryTimerToken: UInt64 = UInt64.max - 1
    /// How often a host stream whose guest port did not listen yet asks again. One REQUEST and
    /// one RST per period while the guest boots: nothing a guest can grow.
    public static let streamRetryMilliseconds: UInt32 = 20
    /// Ticks a REQUEST for a host stream may go unanswered before it is sent again (1 s): a guest
    /// whose vsock driver dropped it (not up yet) must not leave the stream waiting for good.
    static let unansweredRequestTicks = 50

    /// A connected stream descriptor whose other end is a host program: bridged to `guestPort`
    /// once the guest listens there. The device owns (and closes) the descriptor.
    public struct HostStream: Sendable, Equatable {
        public var fd: Int32
        public var guestPort: UInt32
        public init(fd: Int32, guestPort: UInt32) {
            self.fd = fd
            self.guestPort = guestPort
        }
    }
    /// Control packets (RESPONSE, RST, credit updates, SHUTDOWN, host REQUESTs) waiting for a
    /// receive buffer. A guest that sends packets needing a reply while posting no receive buffers
    /// would otherwise grow this without end. 256 is Firecracker's cap for the same queue
    /// (MUXER_RXQ_SIZE) and one full receive queue's worth: a driver that posts buffers drains it
    /// within one notification. Beyond it replies are dropped and counted; a dropped RST or
    /// RESPONSE costs only the guest that withheld its buffers (its connect or close times out).
    public static let controlBacklogCapacity = 256
    /// Connections (either direction) open at once, each holding a host socket. Firecracker's
    /// limit (MAX_CONNECTIONS, 1023) keeps one VM well below a default 1024-descriptor limit's
    /// worth of host descriptors; a guest REQUEST beyond it is answered with RST, a host CONNECT
    /// beyond it is closed.
    public static let defaultMaximumConnections = 1023

    struct Key: Hashable {
        var hostPort: UInt32
        var guestPort: UInt32
    }

    final class Connection {
        let fd: Int32
        let key: Key
        var established: Bool
        let initiatedByHost: Bool
        /// Host connections made with the CONNECT line answer "OK PORT\n" once the guest
        /// accepts; host streams handed over as descriptors do not.
        let announces: Bool
        /// A host stream: a reset from the guest before it accepted means "not listening yet",
        /// and the device asks again (see `streamRetryMilliseconds`).
        var retriesUntilAccepted = false
        /// A REQUEST for it is queued or with the guest, unanswered.
        var requestOutstanding = false
        /// Retry ticks since that REQUEST went out.
        var ticksUnanswered = 0
        var peerBufferAllocation: UInt32 = 0
        var peerForwardCount: UInt32 = 0
        var sentToGuest: UInt32 = 0
        var forwardedToHost: UInt32 = 0
        var lastAdvertisedForward: UInt32 = 0
        var outbox: [UInt8] = []
        var uncountedBytes = 0
        var hostEOF = false
        var watchingRead = true

        init(fd: Int32, key: Key, established: Bool, initiatedByHost: Bool, announces: Bool = true) {
            self.fd = fd
            self.key = key
            self.established = established
            self.initiatedByHost = initiatedByHost
            self.announces = announces
        }

        var guestCredit: UInt32 { peerBufferAllocation &- (sentToGuest &- peerForwardCount) }
    }

    public let guestCID: UInt64
    public let socketPath: String?
    /// The Unix listener at `socketPath`, or -1 without one.
    let listenFD: Int32
    let epoll: Int32
    /// The periodic timer that re-asks for host streams the guest did not accept yet; -1 once
    /// none waits (or there never were any).
    private var retryTimer: Int32 = -1
    private var connections: [Key: Connection] = [:]
    private var byFD: [Int32: Key] = [:]
    /// Accepted host sockets still sending their "CONNECT PORT\n" line.
    private var handshakes: [Int32: [UInt8]] = [:]
    /// Control packets waiting for a receive buffer from the guest (see `controlBacklogCapacity`).
    private var backlog = BoundedQueue<VsockHeader>(capacity: VirtioVsock.controlBacklogCapacity)
    /// Control packets dropped because the backlog was full.
    public private(set) var droppedControlPackets = 0
    let maximumConnections: Int
    private var nextEphemeralPort = VirtioVsock.firstEphemeralPort

    public var deviceType: VirtioDeviceType { .vsock }
    public var offeredFeatures: UInt64 { VirtioFeature.version1 }
    public var queueMaximumSizes: [UInt16] { [Self.queueSize, Self.queueSize, Self.queueSize] }

    /// Listens on `socketPath` (which must not exist yet) when given, and bridges `hostStreams`
    /// to their guest ports.
    public init(
        guestCID: UInt64, socketPath: String?, hostStreams: [HostStream] = [],
        maximumConnections: Int = VirtioVsock.defaultMaximumConnections
    ) throws(VMMError) {
        let epoll = skiff_epoll_create()
        guard epoll >= 0 else {
            let e = errno
            for stream in hostStreams { close(stream.fd) }
            throw .vsockSocket(path: socketPath ?? "(no socket)", errno: e)
        }
        var listenFD: Int32 = -1
        if let socketPath {
            do throws(VMMError) { listenFD = try Self.listen(at: socketPath) } catch {
                close(epoll)
                for stream in hostStreams { close(stream.fd) }
                throw error
            }
            _ = skiff_epoll_add(epoll, listenFD, Self.listenerToken)
        }
        if !hostStreams.isEmpty {
            let timer = skiff_timerfd_periodic(Self.streamRetryMilliseconds)
            guard timer >= 0, skiff_epoll_add(epoll, timer, Self.retryTimerToken) == 0 else {
                let e = errno
                if timer >= 0 { close(timer) }
                if listenFD >= 0 {
                    close(listenFD)
                    if let socketPath { unlink(socketPath) }
                }
                close(epoll)
                for stream in hostStreams { close(stream.fd) }
                throw .hostMemory("the vsock device's retry timer", errno: e)
            }
            retryTimer = timer
        }
        self.guestCID = guestCID
        self.socketPath = socketPath
        self.listenFD = listenFD
        self.epoll = epoll
        self.maximumConnections = maximumConnections
        for stream in hostStreams {
            _ = fcntl(stream.fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(stream.fd, F_SETFL, fcntl(stream.fd, F_GETFL) | O_NONBLOCK)
            let connection = Connection(
                fd: stream.fd, key: Key(hostPort: allocatePort(), guestPort: stream.guestPort), established: false,
                initiatedByHost: true, announces: false)
            connection.retriesUntilAccepted = true
            connections[connection.key] = connection
            byFD[stream.fd] = connection.key
            // Until the guest accepts, bytes the host sends stay in the socket.
            connection.watchingRead = false
            requestHostStream(connection)
        }
    }

    /// A non-blocking Unix listener bound at `path`.
    private static func listen(at socketPath: String) throws(VMMError) -> Int32 {
        guard socketPath.utf8.count < 100 else { throw .vsockSocket(path: socketPath, errno: ENAMETOOLONG) }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw .vsockSocket(path: socketPath, errno: errno) }
        var address = Self.unixAddress(socketPath)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, Glibc.listen(fd, 64) == 0 else {
            let e = errno
            close(fd)
            if bound == 0 { unlink(socketPath) }
            throw .vsockSocket(path: socketPath, errno: e)
        }
        return fd
    }

    /// Queues a REQUEST to the guest port of a host stream that is not connected yet.
    private func requestHostStream(_ connection: Connection) {
        connection.requestOutstanding = true
        connection.ticksUnanswered = 0
        enqueue(header(for: connection, operation: .request))
    }

    /// A retry tick: asks again for every host stream the guest reset, and stops the timer once
    /// none waits.
    private func retryHostStreams() {
        var expirations: UInt64 = 0
        _ = Glibc.read(retryTimer, &expirations, 8)
        var waiting = false
        for connection in connections.values where connection.retriesUntilAccepted && !connection.established {
            waiting = true
            // Counted only once the REQUEST left the backlog (reached the guest's buffers).
            if backlog.isEmpty { connection.ticksUnanswered += 1 }
            if !connection.requestOutstanding || connection.ticksUnanswered >= Self.unansweredRequestTicks {
                requestHostStream(connection)
            }
        }
        if !waiting { stopRetryTimer() }
    }

    private func stopRetryTimer() {
        guard retryTimer >= 0 else { return }
        _ = skiff_epoll_del(epoll, retryTimer)
        close(retryTimer)
        retryTimer = -1
    }

    /// Whether a host stream still waits for the guest to accept it (for tests and diagnostics).
    var retryTimerRunning: Bool { retryTimer >= 0 }

    /// Control packets waiting for receive buffers (for tests and diagnostics).
    var pendingControlPackets: Int { backlog.count }
    /// Open connections, both directions (for tests and diagnostics).
    var openConnections: Int { connections.count }

    /// Queues a control packet for the guest, or drops it when the backlog is full.
    private func enqueue(_ packet: VsockHeader) {
        if !backlog.append(packet) { droppedControlPackets += 1 }
    }

    static func unixAddress(_ path: String) -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in path.utf8.prefix(raw.count - 1).enumerated() { raw[i] = byte }
        }
        return address
    }

    deinit { closeBackend() }

    private var closed = false
    public func closeBackend() {
        guard !closed else { return }
        closed = true
        dropConnections(keepingWaitingStreams: false)
        stopRetryTimer()
        if listenFD >= 0 { close(listenFD) }
        close(epoll)
        if let socketPath { unlink(socketPath) }
    }

    public func configurationSpace() -> [UInt8] {
        var config = [UInt8](repeating: 0, count: 8)
        config.setLittleEndian(guestCID, at: 0)
        return config
    }

    public func backendDescriptors() -> [Int32] { [epoll] }
    public func activate(features: UInt64, queues: VirtioQueueSet) throws(VirtqueueError) {}

    /// A driver reset (Linux resets the device when it probes it) ends every connection but the
    /// host streams the guest has not accepted yet: they are asked for again on the next tick.
    public func reset() {
        dropConnections(keepingWaitingStreams: true)
    }

    private func dropConnections(keepingWaitingStreams: Bool) {
        for connection in connections.values {
            if keepingWaitingStreams && connection.retriesUntilAccepted && !connection.established {
                connection.requestOutstanding = false
                continue
            }
            _ = skiff_epoll_del(epoll, connection.fd)
            close(connection.fd)
            connections[connection.key] = nil
            byFD[connection.fd] = nil
        }
        for fd in handshakes.keys { close(fd) }
        handshakes = [:]
        backlog.removeAll()
    }

    // MARK: queue processing

    public func process(queue index: Int, queues: VirtioQueueSet) throws(VirtqueueError) -> Bool {
        switch index {
        case Self.transmitQueue:
            var used = false
            while let chain = try queues.take(Self.transmitQueue) {
                try handleGuestPacket(chain, memory: queues.memory)
                try queues.queues[Self.transmitQueue].pushUsed(head: chain.head, written: 0, memory: queues.memory)
                used = true
            }
            // Replies (RESPONSE, RST, credit) go out right away if the guest posted receive buffers.
            return try deliver(queues) || used
        case Self.receiveQueue:
            resumePausedReaders()
            return try deliver(queues)
        default:
            return false
        }
    }

    public func pollBackend(queues: VirtioQueueSet) throws(VirtqueueError) -> Bool {
        serviceHostSockets()
        return try deliver(queues)
    }

    /// Host connections are accepted and their CONNECT lines read even before the driver is up;
    /// their requests wait in the backlog. Data sockets are paused until the guest can take data.
    public func pollBackendWhileInactive() {
        serviceHostSockets()
        for connection in connections.values where connection.watchingRead { watch(connection, readable: false) }
    }

    private func serviceHostSockets() {
        var tokens = [UInt64](repeating: 0, count: 64)
        let n = tokens.withUnsafeMutableBufferPointer { skiff_epoll_wait(epoll, $0.baseAddress, 64, 0) }
        for i in 0..<max(0, Int(n)) {
            let token = tokens[i]
            if token == Self.listenerToken {
                acceptHostConnections()
                continue
            }
            if token == Self.retryTimerToken {
                if retryTimer >= 0 { retryHostStreams() }
                continue
            }
            let fd = Int32(truncatingIfNeeded: token)
            if handshakes[fd] != nil {
                readHandshake(fd)
                continue
            }
            if let key = byFD[fd], let connection = connections[key] {
                flushOutbox(connection)
                // Reading happens in deliver(), when the guest has buffers and credit.
                if connection.established && connection.outbox.isEmpty { updateWatch(connection) }
            }
        }
    }

    /// Sends backlog control packets, then data from readable host sockets, into receive buffers.
    private func deliver(_ queues: VirtioQueueSet) throws(VirtqueueError) -> Bool {
        var used = false
        while !backlog.isEmpty {
            guard let chain = try queues.take(Self.receiveQueue) else { return used }
            guard let header = backlog.popFirst() else { break }
            var target = BufferSegments(chain.writable)
            let written: Int
            do { written = try target.put(header.bytes, memory: queues.memory) } catch {
                throw .outsideGuestMemory(address: error.address, length: error.length)
            }
            try queues.queues[Self.receiveQueue].pushUsed(head: chain.head, written: UInt32(written), memory: queues.memory)
            used = true
        }
        for connection in Array(connections.values) where connection.established && !connection.hostEOF && connection.watchingRead {
            while connection.guestCredit > 0 {
                var available: Int32 = 0
                guard ioctl(connection.fd, UInt(FIONREAD), &available) == 0 else { break }
                if available == 0 {
                    // Either nothing to read or EOF: a zero-byte peek tells them apart.
                    var probe: UInt8 = 0
                    let n = recv(connection.fd, &probe, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
                    if n == 0 {
                        connection.hostEOF = true
                        watch(connection, readable: false)
                        enqueue(
                            header(for: connection, operation: .shutdown, flags: VsockHeader.shutdownReceive | VsockHeader.shutdownSend))
                        return try deliver(queues) || used
                    }
                    break
                }
                guard let chain = try queues.take(Self.receiveQueue) else {
                    // Out of this turn's budget: the transport calls again next turn, keep watching.
                    if queues.budgetExhausted { return used }
                    // No receive buffer: stop watching until the driver posts some (receive-queue notify).
                    watch(connection, readable: false)
                    return used
                }
                var target = BufferSegments(chain.writable)
                let room = Int(
                    min(
                        UInt64(connection.guestCredit),
                        target.totalLength > UInt64(VsockHeader.size) ? target.totalLength - UInt64(VsockHeader.size) : 0, 65536))
                var payload = [UInt8](repeating: 0, count: max(room, 0))
                let n = room > 0 ? payload.withUnsafeMutableBytes { recv(connection.fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) } : 0
                let length = max(0, n)
                var packet = header(for: connection, operation: .readWrite)
                packet.length = UInt32(length)
                let written: Int
                do { written = try target.put(packet.bytes + payload[0..<length], memory: queues.memory) } catch {
                    throw .outsideGuestMemory(address: error.address, length: error.length)
                }
                if length > 0 {
                    connection.sentToGuest &+= UInt32(length)
                } else {
                    // Nothing could be sent (tiny buffer): answer with a credit update so the chain is not wasted.
                    var update = header(for: connection, operation: .creditUpdate)
                    update.length = 0
                    do { _ = try BufferSegments(chain.writable).putting(update.bytes, memory: queues.memory) } catch {
                        throw .outsideGuestMemory(address: error.address, length: error.length)
                    }
                }
                try queues.queues[Self.receiveQueue].pushUsed(
                    head: chain.head, written: UInt32(length > 0 ? written : VsockHeader.size), memory: queues.memory)
                used = true
                if n <= 0 { break }
            }
            if connection.guestCredit == 0 { watch(connection, readable: false) }
        }
        return used
    }

    // MARK: guest packets

    private func handleGuestPacket(_ chain: DescriptorChain, memory: GuestMemory) throws(VirtqueueError) {
        var source = BufferSegments(chain.readable)
        let headerBytes: [UInt8]?
        do { headerBytes = try source.take(VsockHeader.size, memory: memory) } catch {
            throw .outsideGuestMemory(address: error.address, length: error.length)
        }
        guard let headerBytes, let packet = VsockHeader(headerBytes) else { return }  // too short: drop, as Firecracker does
        guard packet.sourceCID == guestCID, packet.destinationCID == Self.hostCID, packet.type == VsockHeader.typeStream else {
            if packet.operation != VsockHeader.Operation.reset.rawValue { enqueue(resetReply(to: packet)) }
            return
        }
        let key = Key(hostPort: packet.destinationPort, guestPort: packet.sourcePort)
        let connection = connections[key]
        if let connection {
            connection.peerBufferAllocation = packet.bufferAllocation
            connection.peerForwardCount = packet.forwardCount
            // Before the guest accepted, host bytes stay in the socket (a reset to a host stream
            // that waits does not start reading it).
            if connection.established && connection.guestCredit > 0 { watch(connection, readable: true) }
        }
        switch VsockHeader.Operation(rawValue: packet.operation) {
        case .request:
            guard connection == nil, connections.count < maximumConnections else {
                enqueue(resetReply(to: packet))
                return
            }
            connectToHost(key: key, packet: packet)
        case .response:
            guard let connection, connection.initiatedByHost, !connection.established else {
                enqueue(resetReply(to: packet))
                return
            }
            connection.established = true
            connection.requestOutstanding = false
            connection.watchingRead = true
            if connection.announces {
                let preamble = Array("OK \(key.hostPort)\n".utf8)
                connection.uncountedBytes += preamble.count
                connection.outbox.append(contentsOf: preamble)
                flushOutbox(connection)
            } else {
                if connection.retriesUntilAccepted && !connections.values.contains(where: { $0.retriesUntilAccepted && !$0.established }) {
                    stopRetryTimer()
                }
                updateWatch(connection)
            }
        case .readWrite:
            guard let connection, connection.established else {
                enqueue(resetReply(to: packet))
                return
            }
            let length = Int(min(UInt64(packet.length), source.totalLength))
            guard connection.outbox.count + length <= Int(Self.bufferAllocation) + 64 else {
                closeConnection(connection, notifyGuest: true)
                return
            }
            let payload: [UInt8]
            do { payload = try source.take(length, memory: memory) ?? [] } catch {
                throw .outsideGuestMemory(address: error.address, length: error.length)
            }
            connection.outbox.append(contentsOf: payload)
            flushOutbox(connection)
        case .creditUpdate:
            break
        case .creditRequest:
            if let connection { enqueue(header(for: connection, operation: .creditUpdate)) }
        case .shutdown:
            guard let connection else { return }
            if packet.flags & VsockHeader.shutdownSend != 0 { shutdown(connection.fd, Int32(SHUT_WR)) }
            if packet.flags & (VsockHeader.shutdownSend | VsockHeader.shutdownReceive)
                == (VsockHeader.shutdownSend | VsockHeader.shutdownReceive)
            {
                closeConnection(connection, notifyGuest: true)
            }
        case .reset:
            guard let connection else { return }
            if connection.retriesUntilAccepted && !connection.established {
                // Nothing listens on that guest port yet: the retry timer asks again.
                connection.requestOutstanding = false
            } else {
                closeConnection(connection, notifyGuest: false)
            }
        case nil:
            enqueue(resetReply(to: packet))
        }
    }

    private func connectToHost(key: Key, packet: VsockHeader) {
        // Without a socket path the guest has nothing on the host to connect to.
        guard let socketPath else {
            enqueue(resetReply(to: packet))
            return
        }
        let path = "\(socketPath)_\(key.hostPort)"
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        var address = Self.unixAddress(path)
        let connected =
            fd >= 0
            && withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            } == 0
        guard connected else {
            if fd >= 0 { close(fd) }
            enqueue(resetReply(to: packet))
            return
        }
        let connection = Connection(fd: fd, key: key, established: true, initiatedByHost: false)
        connection.peerBufferAllocation = packet.bufferAllocation
        connection.peerForwardCount = packet.forwardCount
        register(connection)
        enqueue(header(for: connection, operation: .response))
    }

    // MARK: host sockets

    private func acceptHostConnections() {
        while true {
            let fd = accept(listenFD, nil, nil)
            if fd < 0 { return }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            if handshakes.count >= 256 {
                close(fd)
                continue
            }
            handshakes[fd] = []
            _ = skiff_epoll_add(epoll, fd, UInt64(UInt32(bitPattern: fd)))
        }
    }

    private func readHandshake(_ fd: Int32) {
        var buffer = [UInt8](repeating: 0, count: 64)
        // Read byte by byte up to the newline so no payload after it is consumed here.
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, 1, Int32(MSG_DONTWAIT)) }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return }
            guard n == 1 else {
                dropHandshake(fd)
                return
            }
            handshakes[fd, default: []].append(buffer[0])
            let line = handshakes[fd] ?? []
            if buffer[0] == 0x0A { break }
            if line.count > 32 {
                dropHandshake(fd)
                return
            }
        }
        let text = String(decoding: handshakes[fd] ?? [], as: UTF8.self).trimmingSuffixNewline()
        handshakes[fd] = nil
        let parts = text.split(separator: " ")
        guard parts.count == 2, parts[0] == "CONNECT", let port = UInt32(parts[1]) else {
            _ = skiff_epoll_del(epoll, fd)
            close(fd)
            return
        }
        guard connections.count < maximumConnections else {
            _ = skiff_epoll_del(epoll, fd)
            close(fd)
            return
        }
        let hostPort = allocatePort()
        let connection = Connection(fd: fd, key: Key(hostPort: hostPort, guestPort: port), established: false, initiatedByHost: true)
        byFD[fd] = connection.key
        connections[connection.key] = connection
        // Until the guest answers, bytes the host sends stay in the socket.
        watch(connection, readable: false)
        enqueue(header(for: connection, operation: .request))
    }

    private func dropHandshake(_ fd: Int32) {
        handshakes[fd] = nil
        _ = skiff_epoll_del(epoll, fd)
        close(fd)
    }

    private func allocatePort() -> UInt32 {
        repeat {
            nextEphemeralPort = nextEphemeralPort == UInt32.max ? Self.firstEphemeralPort : nextEphemeralPort + 1
        } while connections.keys.contains { $0.hostPort == nextEphemeralPort }
        return nextEphemeralPort
    }

    private func register(_ connection: Connection) {
        connections[connection.key] = connection
        byFD[connection.fd] = connection.key
        _ = skiff_epoll_add(epoll, connection.fd, UInt64(UInt32(bitPattern: connection.fd)))
    }

    private func watch(_ connection: Connection, readable: Bool) {
        connection.watchingRead = readable
        updateWatch(connection)
    }

    private func updateWatch(_ connection: Connection) {
        let token = UInt64(UInt32(bitPattern: connection.fd))
        let wantRead = connection.watchingRead && !connection.hostEOF
        if wantRead || !connection.outbox.isEmpty {
            let wantWrite: Int32 = connection.outbox.isEmpty ? 0 : 1
            if skiff_epoll_mod(epoll, connection.fd, token, wantRead ? 1 : 0, wantWrite) != 0 {
                _ = skiff_epoll_add(epoll, connection.fd, token)
                _ = skiff_epoll_mod(epoll, connection.fd, token, wantRead ? 1 : 0, wantWrite)
            }
        } else {
            _ = skiff_epoll_del(epoll, connection.fd)
        }
    }

    private func resumePausedReaders() {
        for connection in connections.values
        where connection.established && !connection.watchingRead && !connection.hostEOF && connection.guestCredit > 0 {
            watch(connection, readable: true)
        }
    }

    /// Writes buffered guest data to the host socket; the forward count grows only by what was written.
    private func flushOutbox(_ connection: Connection) {
        while !connection.outbox.isEmpty {
            let n = connection.outbox.withUnsafeBytes { send(connection.fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { break }
            if n <= 0 {
                closeConnection(connection, notifyGuest: true)
                return
            }
            connection.outbox.removeFirst(n)
            // The "OK PORT\n" preamble is ours, not guest data: it does not count as forwarded.
            let preamble = min(n, connection.uncountedBytes)
            connection.uncountedBytes -= preamble
            connection.forwardedToHost &+= UInt32(n - preamble)
        }
        updateWatch(connection)
        // Tell the guest about freed space once a good part of its window has drained.
        if connection.forwardedToHost &- connection.lastAdvertisedForward >= Self.bufferAllocation / 4 {
            enqueue(header(for: connection, operation: .creditUpdate))
        }
    }

    private func closeConnection(_ connection: Connection, notifyGuest: Bool) {
        if notifyGuest { enqueue(header(for: connection, operation: .reset)) }
        _ = skiff_epoll_del(epoll, connection.fd)
        close(connection.fd)
        connections[connection.key] = nil
        byFD[connection.fd] = nil
    }

    private func header(for connection: Connection, operation: VsockHeader.Operation, flags: UInt32 = 0) -> VsockHeader {
        connection.lastAdvertisedForward = connection.forwardedToHost
        return VsockHeader(
            sourceCID: Self.hostCID, destinationCID: guestCID, sourcePort: connection.key.hostPort,
            destinationPort: connection.key.guestPort, operation: operation, flags: flags,
            bufferAllocation: Self.bufferAllocation, forwardCount: connection.forwardedToHost)
    }

    private func resetReply(to packet: VsockHeader) -> VsockHeader {
        VsockHeader(
            sourceCID: packet.destinationCID, destinationCID: packet.sourceCID, sourcePort: packet.destinationPort,
            destinationPort: packet.sourcePort, operation: .reset, bufferAllocation: Self.bufferAllocation)
    }
}

extension BufferSegments {
    /// Writes `bytes` from the start without consuming the view (used for in-place replies).
    func putting(_ bytes: [UInt8], memory: GuestMemory) throws(GuestMemoryError) -> Int {
        var copy = self
        return try copy.put(bytes, memory: memory)
    }
}

extension String {
    func trimmingSuffixNewline() -> String {
        var text = self
        while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
        return text
    }
}

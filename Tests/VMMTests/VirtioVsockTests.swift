import Glibc
import Testing
@testable import VMM

/// virtio-vsock driven through its queues against real Unix sockets in a scratch directory.
@Suite(.serialized) struct VirtioVsockTests {
    final class Scratch {
        let path: String
        init() {
            var template = Array("/tmp/skiff-vsock-XXXXXX".utf8CString)
            path = String(cString: mkdtemp(&template)!)
        }
        deinit {
            if let dir = opendir(path) {
                while let entry = readdir(dir) {
                    let name = withUnsafePointer(to: entry.pointee.d_name) {
                        $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
                    }
                    if name != "." && name != ".." { unlink(path + "/" + name) }
                }
                closedir(dir)
            }
            rmdir(path)
        }
    }

    static func unixSocket(listenAt path: String) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = VirtioVsock.unixAddress(path)
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        listen(fd, 4)
        return fd
    }

    static func unixSocket(connectTo path: String) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = VirtioVsock.unixAddress(path)
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        return fd
    }

    static func receive(_ fd: Int32, count: Int) -> String {
        var buffer = [UInt8](repeating: 0, count: count)
        var got = 0
        var tv = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        while got < count {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + got, count - got, 0) }
            if n <= 0 { break }
            got += n
        }
        return String(decoding: buffer[0..<got], as: UTF8.self)
    }

    struct Guest {
        let driver: TestDriver
        let device: VirtioVsock
        var rxBuffers: [UInt16: UInt64] = [:]

        init(socketPath: String, receiveBuffers: Int = 8, maximumConnections: Int = VirtioVsock.defaultMaximumConnections) throws {
            try self.init(
                device: try VirtioVsock(guestCID: 3, socketPath: socketPath, maximumConnections: maximumConnections),
                receiveBuffers: receiveBuffers)
        }

        init(device: VirtioVsock, receiveBuffers: Int = 8) throws {
            self.device = device
            driver = try TestDriver(device: device)
            driver.initialize(queues: 3)
            try postReceiveBuffers(receiveBuffers)
        }

        mutating func postReceiveBuffers(_ count: Int) throws {
            for _ in 0..<count {
                let buffer = try driver.buffer(length: 4096)
                let head = try driver.post(0, [(buffer, 4096, true)])
                rxBuffers[head] = buffer
            }
            if count > 0 { driver.notify(0) }
        }

        /// Sends `header` many times from one reused buffer (guest memory is small).
        func sendRepeatedly(_ header: VsockHeader, times: Int) throws {
            let h = try driver.buffer(header.bytes)
            for _ in 0..<times {
                try driver.post(1, [(h, UInt32(VsockHeader.size), false)])
                driver.notify(1)
                _ = try driver.takeUsed(1)
            }
        }

        func send(_ header: VsockHeader, payload: [UInt8] = []) throws {
            let h = try driver.buffer(header.bytes)
            var chain: [(UInt64, UInt32, Bool)] = [(h, UInt32(VsockHeader.size), false)]
            if !payload.isEmpty { chain.append((try driver.buffer(payload), UInt32(payload.count), false)) }
            try driver.post(1, chain)
            driver.notify(1)
        }

        /// Packets the device put in the receive queue since the last call.
        func received() throws -> [(VsockHeader, [UInt8])] {
            try driver.takeUsed(0).compactMap { head, length in
                guard let buffer = rxBuffers[head] else { return nil }
                let bytes = try driver.memory.read(at: buffer, count: Int(length))
                guard let header = VsockHeader(bytes) else { return nil }
                return (header, Array(bytes[VsockHeader.size...]))
            }
        }
    }

    func header(_ op: VsockHeader.Operation, from port: UInt32, to hostPort: UInt32, length: UInt32 = 0, flags: UInt32 = 0) -> VsockHeader {
        VsockHeader(
            sourceCID: 3, destinationCID: 2, sourcePort: port, destinationPort: hostPort, length: length, operation: op,
            flags: flags, bufferAllocation: 65536, forwardCount: 0)
    }

    @Test func headersRoundTrip() {
        let h = VsockHeader(
            sourceCID: 3, destinationCID: 2, sourcePort: 9, destinationPort: 10, length: 5, operation: .readWrite, flags: 1,
            bufferAllocation: 7, forwardCount: 8)
        #expect(VsockHeader(h.bytes) == h)
        #expect(h.bytes.count == 44)
        #expect(VsockHeader([1, 2, 3]) == nil)
    }

    @Test func aGuestConnectionReachesTheHostSocketAndDataFlowsBothWays() throws {
        let scratch = Scratch()
        let base = scratch.path + "/v.sock"
        let listener = Self.unixSocket(listenAt: base + "_5000")
        defer { close(listener) }
        let guest = try Guest(socketPath: base)
        defer { guest.device.closeBackend() }
        #expect(guest.device.configurationSpace() == [3, 0, 0, 0, 0, 0, 0, 0])

        try guest.send(header(.request, from: 1024, to: 5000))
        let response = try guest.received()
        #expect(response.map(\.0.operation) == [VsockHeader.Operation.response.rawValue])
        #expect(response.first?.0.destinationPort == 1024)
        let host = accept(listener, nil, nil)
        defer { close(host) }
        #expect(host >= 0)

        try guest.send(header(.readWrite, from: 1024, to: 5000, length: 5), payload: Array("hello".utf8))
        #expect(Self.receive(host, count: 5) == "hello")

        _ = Array("world!".utf8).withUnsafeBytes { Glibc.send(host, $0.baseAddress, $0.count, 0) }
        guest.driver.transport.pollBackend()
        let data = try guest.received()
        #expect(data.first?.0.operation == VsockHeader.Operation.readWrite.rawValue)
        #expect(data.first.map { String(decoding: $0.1, as: UTF8.self) } == "world!")

        // The host closing its end shuts the stream down towards the guest.
        close(host)
        guest.driver.transport.pollBackend()
        #expect(try guest.received().contains { $0.0.operation == VsockHeader.Operation.shutdown.rawValue })
        #expect(!guest.driver.needsReset)
    }

    @Test func aConnectionToAPortWithoutListenerIsReset() throws {
        let scratch = Scratch()
        let guest = try Guest(socketPath: scratch.path + "/v.sock")
        defer { guest.device.closeBackend() }
        try guest.send(header(.request, from: 1024, to: 4444))
        #expect(try guest.received().map(\.0.operation) == [VsockHeader.Operation.reset.rawValue])
    }

    @Test func theHostConnectsToAGuestPortWithTheConnectLine() throws {
        let scratch = Scratch()
        let base = scratch.path + "/v.sock"
        let guest = try Guest(socketPath: base)
        defer { guest.device.closeBackend() }
        let host = Self.unixSocket(connectTo: base)
        defer { close(host) }
        _ = Array("CONNECT 52\n".utf8).withUnsafeBytes { Glibc.send(host, $0.baseAddress, $0.count, 0) }
        guest.driver.transport.pollBackend()
        guest.driver.transport.pollBackend()
        let request = try #require(try guest.received().first)
        #expect(request.0.operation == VsockHeader.Operation.request.rawValue)
        #expect(request.0.destinationPort == 52)
        #expect(request.0.sourcePort >= VirtioVsock.firstEphemeralPort)
        try guest.send(
            VsockHeader(
                sourceCID: 3, destinationCID: 2, sourcePort: 52, destinationPort: request.0.sourcePort,
                operation: .response, bufferAllocation: 65536, forwardCount: 0))
        #expect(Self.receive(host, count: "OK \(request.0.sourcePort)\n".utf8.count) == "OK \(request.0.sourcePort)\n")
    }

    @Test func aMalformedConnectLineClosesTheHostSocket() throws {
        let scratch = Scratch()
        let base = scratch.path + "/v.sock"
        let guest = try Guest(socketPath: base)
        defer { guest.device.closeBackend() }
        let host = Self.unixSocket(connectTo: base)
        defer { close(host) }
        _ = Array("HELLO there\n".utf8).withUnsafeBytes { Glibc.send(host, $0.baseAddress, $0.count, 0) }
        guest.driver.transport.pollBackend()
        guest.driver.transport.pollBackend()
        #expect(Self.receive(host, count: 1) == "")
        #expect(try guest.received().isEmpty)
    }

    @Test func packetsWithForgedAddressesAreAnsweredWithReset() throws {
        let scratch = Scratch()
        let guest = try Guest(socketPath: scratch.path + "/v.sock")
        defer { guest.device.closeBackend() }
        var forged = header(.request, from: 1, to: 5000)
        forged.sourceCID = 99
        try guest.send(forged)
        #expect(try guest.received().map(\.0.operation) == [VsockHeader.Operation.reset.rawValue])
        #expect(!guest.driver.needsReset)
    }

    @Test func repliesWaitingForReceiveBuffersAreCappedAndDrainInOrder() throws {
        let scratch = Scratch()
        // No receive buffers: every REQUEST to a port without listener needs an RST that cannot go out.
        var guest = try Guest(socketPath: scratch.path + "/v.sock", receiveBuffers: 0)
        defer { guest.device.closeBackend() }
        let cap = VirtioVsock.controlBacklogCapacity
        try guest.sendRepeatedly(header(.request, from: 1024, to: 4444), times: cap + 100)
        #expect(guest.device.pendingControlPackets == cap)
        #expect(guest.device.droppedControlPackets == 100)
        #expect(!guest.driver.needsReset)
        // Buffers posted later take the queued replies, oldest first, and the backlog shrinks.
        try guest.postReceiveBuffers(8)
        let replies = try guest.received()
        #expect(replies.count == 8)
        #expect(replies.allSatisfy { $0.0.operation == VsockHeader.Operation.reset.rawValue && $0.0.destinationPort == 1024 })
        #expect(guest.device.pendingControlPackets == cap - 8)
    }

    @Test func guestConnectionsBeyondTheLimitAreRefusedWithReset() throws {
        let scratch = Scratch()
        let base = scratch.path + "/v.sock"
        let listener = Self.unixSocket(listenAt: base + "_5000")
        defer { close(listener) }
        let guest = try Guest(socketPath: base, receiveBuffers: 8, maximumConnections: 3)
        defer { guest.device.closeBackend() }
        for port in UInt32(1024)..<1027 {
            try guest.send(header(.request, from: port, to: 5000))
            #expect(try guest.received().map(\.0.operation) == [VsockHeader.Operation.response.rawValue])
        }
        #expect(guest.device.openConnections == 3)
        try guest.send(header(.request, from: 1027, to: 5000))
        let refused = try guest.received()
        #expect(refused.map(\.0.operation) == [VsockHeader.Operation.reset.rawValue])
        #expect(refused.first?.0.destinationPort == 1027)
        #expect(guest.device.openConnections == 3)
        // A closed connection frees its slot.
        try guest.send(header(.reset, from: 1024, to: 5000))
        #expect(guest.device.openConnections == 2)
        try guest.send(header(.request, from: 1028, to: 5000))
        #expect(try guest.received().map(\.0.operation) == [VsockHeader.Operation.response.rawValue])
    }

    @Test func hostConnectionsBeyondTheLimitAreClosed() throws {
        let scratch = Scratch()
        let base = scratch.path + "/v.sock"
        let guest = try Guest(socketPath: base, maximumConnections: 1)
        defer { guest.device.closeBackend() }
        let first = Self.unixSocket(connectTo: base)
        defer { close(first) }
        _ = Array("CONNECT 52\n".utf8).withUnsafeBytes { Glibc.send(first, $0.baseAddress, $0.count, 0) }
        guest.driver.transport.pollBackend()
        guest.driver.transport.pollBackend()
        #expect(try guest.received().map(\.0.operation) == [VsockHeader.Operation.request.rawValue])
        let second = Self.unixSocket(connectTo: base)
        defer { close(second) }
        _ = Array("CONNECT 53\n".utf8).withUnsafeBytes { Glibc.send(second, $0.baseAddress, $0.count, 0) }
        guest.driver.transport.pollBackend()
        guest.driver.transport.pollBackend()
        #expect(Self.receive(second, count: 1) == "", "closed without an OK")
        #expect(try guest.received().isEmpty)
        #expect(guest.device.openConnections == 1)
    }

    enum MonotonicTime {
        static func now() -> Double {
            var ts = timespec()
            clock_gettime(CLOCK_MONOTONIC, &ts)
            return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
        }
    }

    /// Waits (up to 2 s) until the device's backend descriptor is readable, then lets the
    /// transport poll it: how the device loop runs a retry tick.
    func tick(_ guest: Guest) {
        var pfd = pollfd(fd: guest.device.epoll, events: Int16(POLLIN), revents: 0)
        _ = poll(&pfd, 1, 2000)
        guest.driver.transport.pollBackend()
    }

    static func socketPair() -> (Int32, Int32) {
        var fds: [Int32] = [-1, -1]
        _ = socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds)
        return (fds[0], fds[1])
    }

    /// The agent transport of skiff's own backend: a host stream survives the driver's reset at
    /// probe and the guest's resets while nothing listens, is asked for again on the timer, and
    /// once accepted carries the guest's bytes only (no "OK" line) and host bytes written early.
    @Test func aHostStreamIsAskedForUntilTheGuestAcceptsAndThenCarriesOnlyTheirBytes() throws {
        let (host, theirs) = Self.socketPair()
        defer { close(host) }
        let device = try VirtioVsock(guestCID: 3, socketPath: nil, hostStreams: [.init(fd: theirs, guestPort: 1024)])
        defer { device.closeBackend() }
        let guest = try Guest(device: device)
        // Bytes the host sends before the guest listens wait in the socket.
        _ = Array("early".utf8).withUnsafeBytes { Glibc.send(host, $0.baseAddress, $0.count, 0) }
        tick(guest)
        let first = try #require(try guest.received().first)
        #expect(first.0.operation == VsockHeader.Operation.request.rawValue)
        #expect(first.0.destinationPort == 1024)
        let hostPort = first.0.sourcePort
        // Nothing listens on 1024 yet: the guest resets, and the stream waits for the next tick.
        try guest.send(header(.reset, from: 1024, to: hostPort))
        #expect(try guest.received().isEmpty)
        #expect(device.openConnections == 1)
        tick(guest)
        let second = try #require(try guest.received().first)
        #expect(second.0.operation == VsockHeader.Operation.request.rawValue)
        #expect(second.0.sourcePort == hostPort && second.0.destinationPort == 1024)
        #expect(device.retryTimerRunning)

        try guest.send(header(.response, from: 1024, to: hostPort))
        #expect(!device.retryTimerRunning, "the timer stops once no stream waits")
        guest.driver.transport.pollBackend()
        let early = try guest.received().filter { $0.0.operation == VsockHeader.Operation.readWrite.rawValue }
        #expect(early.map { String(decoding: $0.1, as: UTF8.self) }.joined() == "early")
        try guest.send(header(.readWrite, from: 1024, to: hostPort, length: 5), payload: Array("hello".utf8))
        #expect(Self.receive(host, count: 5) == "hello")
        // Accepted, a reset ends the stream for good: the host sees its end close.
        try guest.send(header(.reset, from: 1024, to: hostPort))
        #expect(Self.receive(host, count: 1) == "")
        #expect(device.openConnections == 0)
        #expect(!guest.driver.needsReset)
    }

    /// A guest whose driver dropped the REQUEST (no answer at all) is asked again after a second.
    @Test func anUnansweredHostStreamRequestIsSentAgain() throws {
        let (host, theirs) = Self.socketPair()
        defer { close(host) }
        let device = try VirtioVsock(guestCID: 3, socketPath: nil, hostStreams: [.init(fd: theirs, guestPort: 1024)])
        defer { device.closeBackend() }
        let guest = try Guest(device: device)
        tick(guest)
        #expect(try guest.received().map(\.0.operation) == [VsockHeader.Operation.request.rawValue])
        let start = MonotonicTime.now()
        var again: [(VsockHeader, [UInt8])] = []
        while again.isEmpty && MonotonicTime.now() - start < 5 {
            tick(guest)
            again = try guest.received()
        }
        #expect(again.map(\.0.operation) == [VsockHeader.Operation.request.rawValue])
        #expect(MonotonicTime.now() - start >= 0.9, "asked again before the guest had a second to answer")
    }

    @Test func aWaitingHostStreamIsClosedWithTheDevice() throws {
        let (host, theirs) = Self.socketPair()
        defer { close(host) }
        let device = try VirtioVsock(guestCID: 3, socketPath: nil, hostStreams: [.init(fd: theirs, guestPort: 1024)])
        #expect(device.retryTimerRunning)
        device.closeBackend()
        #expect(Self.receive(host, count: 1) == "")
        #expect(!device.retryTimerRunning)
    }

    @Test func withoutASocketPathGuestConnectionsToTheHostAreReset() throws {
        let (host, theirs) = Self.socketPair()
        defer { close(host) }
        let device = try VirtioVsock(guestCID: 3, socketPath: nil, hostStreams: [.init(fd: theirs, guestPort: 1024)])
        defer { device.closeBackend() }
        let guest = try Guest(device: device)
        try guest.send(header(.request, from: 2000, to: 5000))
        #expect(try guest.received().contains { $0.0.operation == VsockHeader.Operation.reset.rawValue && $0.0.destinationPort == 2000 })
    }

    @Test func anExistingSocketPathIsRefusedAndTheSocketIsRemovedOnClose() throws {
        let scratch = Scratch()
        let path = scratch.path + "/v.sock"
        let device = try VirtioVsock(guestCID: 3, socketPath: path)
        #expect(throws: VMMError.self) { _ = try VirtioVsock(guestCID: 4, socketPath: path) }
        device.closeBackend()
        #expect(access(path, F_OK) != 0)
    }
}

import Glibc
import Testing
@testable import VMM

/// virtio-net driven through its queues, with a datagram socket pair standing in for the tap
/// (same framing: one 12-byte virtio-net header plus one Ethernet frame per packet).
@Suite struct VirtioNetTests {
    func makePair() throws -> (device: Int32, peer: Int32) {
        var fds: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0, &fds) == 0 else {
            throw VMMError.hostMemory("a socket pair", errno: errno)
        }
        return (fds[0], fds[1])
    }

    @Test func theMACIsInConfigurationSpaceAndStable() throws {
        let pair = try makePair()
        defer { close(pair.peer) }
        let net = try VirtioNet(backendFD: pair.device, name: "tap-test")
        defer { net.closeBackend() }
        #expect(net.configurationSpace() == VirtioNet.stableMAC(for: "tap-test"))
        #expect(net.mac[0] & 0x03 == 0x02, "locally administered unicast")
        #expect(net.offeredFeatures & VirtioNet.featureMAC != 0)
    }

    @Test func framesTransmittedByTheGuestReachTheBackend() throws {
        let pair = try makePair()
        defer { close(pair.peer) }
        let net = try VirtioNet(backendFD: pair.device, name: "tap-tx")
        defer { net.closeBackend() }
        let driver = try TestDriver(device: net)
        driver.initialize(queues: 2)
        let header = try driver.buffer(length: 12)
        let frame = try driver.buffer(Array(repeating: 0xAB, count: 60))
        try driver.post(1, [(header, 12, false), (frame, 60, false)])
        driver.notify(1)
        #expect(try driver.takeUsed(1).count == 1)
        var received = [UInt8](repeating: 0, count: 200)
        let n = received.withUnsafeMutableBytes { recv(pair.peer, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        #expect(n == 72)
        #expect(Array(received[12..<72]) == [UInt8](repeating: 0xAB, count: 60))
    }

    @Test func framesFromTheBackendFillReceiveBuffers() throws {
        let pair = try makePair()
        defer { close(pair.peer) }
        let net = try VirtioNet(backendFD: pair.device, name: "tap-rx")
        defer { net.closeBackend() }
        let driver = try TestDriver(device: net)
        driver.initialize(queues: 2)
        let buffer = try driver.buffer(length: 2048)
        let head = try driver.post(0, [(buffer, 2048, true)])
        driver.notify(0)
        let packet = [UInt8](repeating: 0, count: 12) + Array("frame-from-host".utf8)
        _ = packet.withUnsafeBytes { send(pair.peer, $0.baseAddress, $0.count, 0) }
        driver.transport.pollBackend()
        let used = try driver.takeUsed(0)
        #expect(used.count == 1)
        #expect(used.first?.0 == head)
        #expect(used.first?.1 == UInt32(packet.count))
        #expect(try driver.memory.read(at: buffer + 12, count: 15) == Array("frame-from-host".utf8))
        #expect(driver.interrupt.count >= 1)
    }

    @Test func framesWaitInTheBackendUntilTheGuestPostsReceiveBuffers() throws {
        let pair = try makePair()
        defer { close(pair.peer) }
        let net = try VirtioNet(backendFD: pair.device, name: "tap-wait")
        defer { net.closeBackend() }
        let driver = try TestDriver(device: net)
        driver.initialize(queues: 2)
        for byte: UInt8 in [1, 2] {
            let packet = [UInt8](repeating: 0, count: 12) + [UInt8](repeating: byte, count: 40)
            _ = packet.withUnsafeBytes { send(pair.peer, $0.baseAddress, $0.count, 0) }
        }
        driver.transport.pollBackend()
        #expect(net.droppedFrames == 0)
        #expect(!net.isWatchingTap)
        var backend = pollfd(fd: pair.device, events: Int16(POLLIN), revents: 0)
        #expect(poll(&backend, 1, 0) == 1, "the frames are still in the backend")
        var watched = pollfd(fd: net.backendDescriptors()[0], events: Int16(POLLIN), revents: 0)
        #expect(poll(&watched, 1, 0) == 0, "the device loop is not woken while there is no buffer")
        // Posting buffers (a receive-queue notification) delivers both frames, in order.
        let buffers = [try driver.buffer(length: 2048), try driver.buffer(length: 2048)]
        for buffer in buffers { try driver.post(0, [(buffer, 2048, true)]) }
        driver.notify(0)
        let used = try driver.takeUsed(0)
        #expect(used.map(\.1) == [52, 52])
        #expect(try driver.memory.read(at: buffers[0] + 12, count: 1) == [1])
        #expect(try driver.memory.read(at: buffers[1] + 12, count: 1) == [2])
        #expect(net.droppedFrames == 0)
        #expect(!driver.needsReset)
    }

    @Test func framesArrivingBeforeTheDriverIsReadyAreDrainedNotLeftToSpinOn() throws {
        let pair = try makePair()
        defer { close(pair.peer) }
        let net = try VirtioNet(backendFD: pair.device, name: "tap-early")
        defer { net.closeBackend() }
        let driver = try TestDriver(device: net)
        for _ in 0..<3 { _ = [UInt8](repeating: 2, count: 40).withUnsafeBytes { send(pair.peer, $0.baseAddress, $0.count, 0) } }
        driver.transport.pollBackend()
        #expect(net.droppedFrames == 3)
        var probe = pollfd(fd: pair.device, events: Int16(POLLIN), revents: 0)
        #expect(poll(&probe, 1, 0) == 0, "nothing is left readable")
    }

    @Test func aTransmitChainOutsideMemoryBreaksTheDevice() throws {
        let pair = try makePair()
        defer { close(pair.peer) }
        let net = try VirtioNet(backendFD: pair.device, name: "tap-bad")
        defer { net.closeBackend() }
        let driver = try TestDriver(device: net)
        driver.initialize(queues: 2)
        try driver.post(1, [(0x7000_0000_0000, 64, false)])
        driver.notify(1)
        #expect(driver.needsReset)
    }

    @Test func aMissingTapIsAClearError() {
        #expect(throws: VMMError.self) { _ = try VirtioNet(tapName: String(repeating: "x", count: 20)) }
    }
}

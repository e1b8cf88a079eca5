#if canImport(Glibc)
import Glibc
#endif
import CShim

/// virtio-net (virtio 1.2, section 5.1) backed by a host tap device. The tap is opened with a
/// 12-byte virtio-net header, the same header a VERSION_1 driver uses, so frames pass through
/// unchanged in both directions. No offloads are offered: the guest sends complete frames.
/// A frame is read from the tap only when the guest has a receive buffer for it: while the
/// receive queue is empty the tap is not watched and frames wait in its queue (the kernel drops
/// beyond the tap's txqueuelen, as for any slow reader) until the driver posts buffers and
/// notifies the receive queue.
/// Unchecked Sendable: mutable state is touched only from the `VirtioDevice` methods, which the
/// transport calls under its lock.
public final class VirtioNet: VirtioDevice, VirtioBackendOwner, @unchecked Sendable {
    public static let queueSize: UInt16 = 256
    public static let featureMAC: UInt64 = 1 << 5
    public static let headerSize = 12
    static let receiveQueue = 0, transmitQueue = 1
    static let maximumFrame = 65562

    public let tapName: String
    public let mac: [UInt8]
    let tapFD: Int32
    /// The descriptor the device loop watches: an epoll set holding the tap while receiving is
    /// possible, empty while the guest has no receive buffer (so the loop does not spin on it).
    let watchFD: Int32
    private var watchingTap = true
    private var receiveBuffer = [UInt8](repeating: 0, count: VirtioNet.maximumFrame)
    /// Frames dropped: they arrived before the driver was up, or did not fit the buffer posted.
    public private(set) var droppedFrames = 0

    public var deviceType: VirtioDeviceType { .net }
    public var offeredFeatures: UInt64 { VirtioFeature.version1 | Self.featureMAC }
    public var queueMaximumSizes: [UInt16] { [Self.queueSize, Self.queueSize] }

    /// Attaches to an existing tap device (or creates a transient one, which requires CAP_NET_ADMIN).
    public init(tapName: String, mac: [UInt8]? = nil) throws(VMMError) {
        let fd = skiff_tap_open(tapName, 1)
        guard fd >= 0 else { throw .tapUnavailable(name: tapName, errno: errno) }
        let watch = Self.makeWatch(fd)
        guard watch >= 0 else {
            let e = errno
            close(fd)
            throw .hostMemory("watching tap \(tapName)", errno: e)
        }
        self.tapFD = fd
        self.watchFD = watch
        self.tapName = tapName
        self.mac = mac ?? Self.stableMAC(for: tapName)
    }

    /// Adopts an already open packet descriptor (a tap opened with a 12-byte vnet header, or a
    /// datagram socket carrying the same framing); the device closes it.
    public init(backendFD: Int32, name: String, mac: [UInt8]? = nil) throws(VMMError) {
        _ = fcntl(backendFD, F_SETFL, fcntl(backendFD, F_GETFL) | O_NONBLOCK)
        let watch = Self.makeWatch(backendFD)
        guard watch >= 0 else {
            let e = errno
            close(backendFD)
            throw .hostMemory("watching network backend \(name)", errno: e)
        }
        self.tapFD = backendFD
        self.watchFD = watch
        self.tapName = name
        self.mac = mac ?? Self.stableMAC(for: name)
    }

    /// An epoll set watching `fd` for readability, or -1 with errno set.
    private static func makeWatch(_ fd: Int32) -> Int32 {
        let epoll = skiff_epoll_create()
        guard epoll >= 0 else { return -1 }
        guard skiff_epoll_add(epoll, fd, 0) == 0 else {
            let e = errno
            close(epoll)
            errno = e
            return -1
        }
        return epoll
    }

    /// Starts or stops watching the tap (the loop watches `watchFD`, which is readable only while
    /// the tap is in it and readable).
    private func watchTap(_ on: Bool) {
        guard on != watchingTap else { return }
        watchingTap = on
        _ = skiff_epoll_mod(watchFD, tapFD, 0, on ? 1 : 0, 0)
    }

    /// Whether the device loop would currently be woken by frames on the tap (for tests).
    var isWatchingTap: Bool { watchingTap }

    /// A locally administered unicast MAC derived from the tap name, so a VM keeps its address.
    static func stableMAC(for name: String) -> [UInt8] {
        var hash: UInt32 = 2_166_136_261
        for byte in name.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        return [
            0x06, 0x00, UInt8(truncatingIfNeeded: hash >> 24), UInt8(truncatingIfNeeded: hash >> 16), UInt8(truncatingIfNeeded: hash >> 8),
            UInt8(truncatingIfNeeded: hash),
        ]
    }

    deinit { closeBackend() }

    private var closed = false
    public func closeBackend() {
        if !closed {
            close(watchFD)
            close(tapFD)
            closed = true
        }
    }

    public func configurationSpace() -> [UInt8] { mac }
    public func backendDescriptors() -> [Int32] { [watchFD] }
    public func activate(features: UInt64, queues: VirtioQueueSet) throws(VirtqueueError) { watchTap(true) }
    /// Until the driver is up again, frames are read and dropped (see `pollBackendWhileInactive`).
    public func reset() { watchTap(true) }

    public func process(queue index: Int, queues: VirtioQueueSet) throws(VirtqueueError) -> Bool {
        switch index {
        case Self.transmitQueue: return try transmit(queues)
        case Self.receiveQueue: return try receive(queues)
        default: return false
        }
    }

    public func pollBackend(queues: VirtioQueueSet) throws(VirtqueueError) -> Bool { try receive(queues) }

    /// A link that is not up drops what arrives, like a NIC before its driver loads.
    public func pollBackendWhileInactive() {
        watchTap(true)
        while receiveBuffer.withUnsafeMutableBytes({ Glibc.read(tapFD, $0.baseAddress, $0.count) }) > 0 { droppedFrames += 1 }
    }

    private func transmit(_ queues: VirtioQueueSet) throws(VirtqueueError) -> Bool {
        var used = false
        while let chain = try queues.take(Self.transmitQueue) {
            var frame = BufferSegments(chain.readable)
            let length = frame.totalLength
            if length >= UInt64(Self.headerSize), length <= UInt64(Self.maximumFrame) {
                let bytes: [UInt8]
                do { bytes = try frame.take(Int(length), memory: queues.memory) ?? [] } catch {
                    throw .outsideGuestMemory(address: error.address, length: error.length)
                }
                _ = bytes.withUnsafeBytes { Glibc.write(tapFD, $0.baseAddress, $0.count) }
            }
            try queues.queues[Self.transmitQueue].pushUsed(head: chain.head, written: 0, memory: queues.memory)
            used = true
        }
        return used
    }

    /// Moves frames from the tap into receive buffers, one frame per buffer taken, and reads a
    /// frame only when a buffer is there for it. Called for backend input and for receive-queue
    /// notifications (the driver posted buffers), which resume watching the tap.
    private func receive(_ queues: VirtioQueueSet) throws(VirtqueueError) -> Bool {
        var used = false
        while true {
            guard try queues.queues[Self.receiveQueue].hasAvailable(memory: queues.memory) else {
                // No buffer: leave frames in the tap until the driver posts some and notifies.
                watchTap(false)
                return used
            }
            watchTap(true)
            guard queues.hasBudget() else { return used }
            let n = receiveBuffer.withUnsafeMutableBytes { Glibc.read(tapFD, $0.baseAddress, $0.count) }
            if n <= 0 { return used }
            guard let chain = try queues.take(Self.receiveQueue) else {
                // hasAvailable said yes and the budget allows one: only a racing driver gets here.
                droppedFrames += 1
                return used
            }
            var target = BufferSegments(chain.writable)
            var written = 0
            if target.totalLength >= UInt64(n) {
                do { written = try target.put(Array(receiveBuffer[0..<n]), memory: queues.memory) } catch {
                    throw .outsideGuestMemory(address: error.address, length: error.length)
                }
            } else {
                droppedFrames += 1
            }
            try queues.queues[Self.receiveQueue].pushUsed(head: chain.head, written: UInt32(written), memory: queues.memory)
            used = true
        }
        return used
    }
}

import Testing
@testable import VMM

/// Plays a virtio driver against our device models, entirely in test-owned guest memory: writes
/// the transport registers through the MMIO interface and builds split rings by hand.
final class TestDriver {
    let memory: GuestMemory
    let transport: VirtioMMIOTransport
    let interrupt = CountingInterruptLine()
    /// Guest-physical layout for up to 4 queues: each gets 64 KiB at 0x10000 * (queue + 1).
    static let queueSize: UInt16 = 16
    var lastUsed: [UInt16] = [0, 0, 0, 0]
    var availableIndex: [UInt16] = [0, 0, 0, 0]
    var nextDescriptor: [UInt16] = [0, 0, 0, 0]
    /// Data buffers are handed out from 1 MiB upwards.
    var nextBuffer: UInt64 = 0x10_0000

    init(
        device: any VirtioDevice, memoryMiB: UInt64 = 4,
        reschedule: (@Sendable (VirtioMMIOTransport, VirtioMMIOTransport.PendingWork) -> Void)? = nil
    ) throws {
        memory = try GuestMemory(size: memoryMiB << 20)
        transport = VirtioMMIOTransport(device: device, memory: memory, interrupt: interrupt, reschedule: reschedule)
    }

    func read32(_ offset: UInt64) -> UInt32 {
        var value: UInt32 = 0
        withUnsafeMutableBytes(of: &value) { transport.read(offset: offset, into: $0) }
        return UInt32(littleEndian: value)
    }

    func write32(_ offset: UInt64, _ value: UInt32) {
        withUnsafeBytes(of: value.littleEndian) { transport.write(offset: offset, from: $0) }
    }

    var status: UInt32 { read32(VirtioMMIOTransport.Register.status) }
    var needsReset: Bool { status & VirtioMMIOTransport.Status.deviceNeedsReset != 0 }

    func descriptorTable(_ q: Int) -> UInt64 { 0x10000 * UInt64(q + 1) }
    func availableRing(_ q: Int) -> UInt64 { descriptorTable(q) + 0x1000 }
    func usedRing(_ q: Int) -> UInt64 { descriptorTable(q) + 0x2000 }

    /// Forgets ring state, as a driver does after resetting the device.
    func resetRings() throws {
        for q in 0..<4 { try memory.fill(0, at: descriptorTable(q), count: 0x3000) }
        lastUsed = [0, 0, 0, 0]
        availableIndex = [0, 0, 0, 0]
        nextDescriptor = [0, 0, 0, 0]
    }

    /// The whole initialisation sequence of virtio 1.2 section 3.1.1.
    func initialize(queues: Int, features: UInt64 = VirtioFeature.version1) {
        typealias R = VirtioMMIOTransport.Register
        write32(R.status, 0)
        write32(R.status, 1)
        write32(R.status, 3)
        write32(R.driverFeaturesSelect, 0)
        write32(R.driverFeatures, UInt32(truncatingIfNeeded: features))
        write32(R.driverFeaturesSelect, 1)
        write32(R.driverFeatures, UInt32(truncatingIfNeeded: features >> 32))
        write32(R.status, 3 | 8)
        for q in 0..<queues { setupQueue(q) }
        write32(R.status, 3 | 8 | 4)
    }

    func setupQueue(_ q: Int, size: UInt16 = TestDriver.queueSize) {
        typealias R = VirtioMMIOTransport.Register
        write32(R.queueSelect, UInt32(q))
        write32(R.queueNumber, UInt32(size))
        write32(R.queueDescriptorLow, UInt32(descriptorTable(q)))
        write32(R.queueDescriptorHigh, 0)
        write32(R.queueDriverLow, UInt32(availableRing(q)))
        write32(R.queueDriverHigh, 0)
        write32(R.queueDeviceLow, UInt32(usedRing(q)))
        write32(R.queueDeviceHigh, 0)
        write32(R.queueReady, 1)
    }

    /// Allocates a data buffer in guest memory holding `bytes` (or `length` zero bytes).
    func buffer(_ bytes: [UInt8] = [], length: Int? = nil) throws -> UInt64 {
        let address = nextBuffer
        let size = max(bytes.count, length ?? 0)
        try memory.write(bytes + [UInt8](repeating: 0, count: size - bytes.count), at: address)
        nextBuffer += UInt64((size + 0xFFF) & ~0xFFF) + 0x1000
        return address
    }

    /// Writes a raw descriptor.
    func setDescriptor(_ q: Int, _ index: UInt16, address: UInt64, length: UInt32, flags: UInt16, next: UInt16) throws {
        let entry = descriptorTable(q) + UInt64(index) * 16
        try memory.store(address, at: entry)
        try memory.store(length, at: entry + 8)
        try memory.store(flags, at: entry + 12)
        try memory.store(next, at: entry + 14)
    }

    /// Posts a chain of (address, length, deviceWritable) buffers and returns its head.
    @discardableResult
    func post(_ q: Int, _ buffers: [(UInt64, UInt32, Bool)]) throws -> UInt16 {
        let head = nextDescriptor[q]
        for (i, buffer) in buffers.enumerated() {
            let index = (head + UInt16(i)) % TestDriver.queueSize
            let last = i == buffers.count - 1
            try setDescriptor(
                q, index, address: buffer.0, length: buffer.1,
                flags: (buffer.2 ? Virtqueue.flagWrite : 0) | (last ? 0 : Virtqueue.flagNext),
                next: (index + 1) % TestDriver.queueSize)
        }
        nextDescriptor[q] = (head + UInt16(buffers.count)) % TestDriver.queueSize
        try publish(q, head: head)
        return head
    }

    /// Puts `head` in the available ring and bumps its index.
    func publish(_ q: Int, head: UInt16) throws {
        let slot = UInt64(availableIndex[q] % TestDriver.queueSize)
        try memory.store(head, at: availableRing(q) + 4 + slot * 2)
        availableIndex[q] &+= 1
        try memory.store(availableIndex[q], at: availableRing(q) + 2)
    }

    func notify(_ q: Int) { write32(VirtioMMIOTransport.Register.queueNotify, UInt32(q)) }

    /// Used entries since the last call: (head, written length).
    func takeUsed(_ q: Int) throws -> [(UInt16, UInt32)] {
        let index: UInt16 = try memory.load(UInt16.self, at: usedRing(q) + 2)
        var out: [(UInt16, UInt32)] = []
        while lastUsed[q] != index {
            let slot = UInt64(lastUsed[q] % TestDriver.queueSize)
            let id: UInt32 = try memory.load(UInt32.self, at: usedRing(q) + 4 + slot * 8)
            let length: UInt32 = try memory.load(UInt32.self, at: usedRing(q) + 8 + slot * 8)
            out.append((UInt16(id), length))
            lastUsed[q] &+= 1
        }
        return out
    }
}

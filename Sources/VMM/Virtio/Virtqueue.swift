import Synchronization

/// Why a virtqueue could not be processed. Any of these means the driver broke the virtio
/// contract; the transport marks the device DEVICE_NEEDS_RESET and stops touching the queue.
public enum VirtqueueError: Error, Equatable, CustomStringConvertible {
    case outsideGuestMemory(address: UInt64, length: UInt64)
    case descriptorIndexOutOfRange(UInt16)
    case chainTooLong
    case availableIndexJumped(from: UInt16, to: UInt16)
    case nestedIndirect
    case badIndirectTable(length: UInt32)
    case badRequest(String)

    public var description: String {
        switch self {
        case .outsideGuestMemory(let a, let l): return "buffer of \(l) bytes at 0x\(String(a, radix: 16)) is outside guest memory"
        case .descriptorIndexOutOfRange(let i): return "descriptor index \(i) is beyond the queue size"
        case .chainTooLong: return "descriptor chain is longer than the queue (a loop)"
        case .availableIndexJumped(let a, let b): return "available index moved from \(a) to \(b), more than the queue size"
        case .nestedIndirect: return "an indirect descriptor table points to another indirect table"
        case .badIndirectTable(let l): return "indirect descriptor table of \(l) bytes is not a whole number of descriptors"
        case .badRequest(let why): return "malformed request: \(why)"
        }
    }
}

/// One guest buffer of a descriptor chain; already checked to lie inside guest memory.
public struct VirtqueueBuffer: Equatable, Sendable {
    public let address: UInt64
    public let length: UInt32
    public let deviceWritable: Bool
}

/// A chain taken from the available ring: the head to return in the used ring and its buffers.
public struct DescriptorChain: Sendable {
    public let head: UInt16
    public let buffers: [VirtqueueBuffer]

    public var readable: [VirtqueueBuffer] { buffers.filter { !$0.deviceWritable } }
    public var writable: [VirtqueueBuffer] { buffers.filter { $0.deviceWritable } }
}

/// The device side of a split virtqueue (virtio 1.x, section 2.7) living in guest memory. Every
/// index and address read from the guest is validated before use; loops are caught by bounding
/// chain length by the queue size.
public struct Virtqueue: Sendable {
    public static let flagNext: UInt16 = 1
    public static let flagWrite: UInt16 = 2
    public static let flagIndirect: UInt16 = 4
    public static let descriptorSize: UInt64 = 16

    public let size: UInt16
    public let descriptorTable: UInt64
    public let availableRing: UInt64
    public let usedRing: UInt64
    public private(set) var nextAvailable: UInt16 = 0
    public private(set) var nextUsed: UInt16 = 0

    /// Checks that the three rings of a queue of `size` entries lie in guest memory.
    public init(size: UInt16, descriptorTable: UInt64, availableRing: UInt64, usedRing: UInt64, memory: GuestMemory) throws(VirtqueueError)
    {
        guard size > 0, size & (size - 1) == 0 else { throw .badRequest("queue size \(size) is not a power of two") }
        let n = UInt64(size)
        for (address, length) in [(descriptorTable, n * 16), (availableRing, 6 + 2 * n), (usedRing, 6 + 8 * n)] {
            guard memory.contains(address, length: length) else { throw .outsideGuestMemory(address: address, length: length) }
        }
        self.size = size
        self.descriptorTable = descriptorTable
        self.availableRing = availableRing
        self.usedRing = usedRing
    }

    private func guarded<T>(_ body: () throws(GuestMemoryError) -> T) throws(VirtqueueError) -> T {
        do { return try body() } catch { throw .outsideGuestMemory(address: error.address, length: error.length) }
    }

    /// Whether the driver made a chain available that has not been taken (nothing is consumed).
    public func hasAvailable(memory: GuestMemory) throws(VirtqueueError) -> Bool {
        let availableIndex = try guarded { () throws(GuestMemoryError) in try memory.load(UInt16.self, at: availableRing + 2) }
        // Acquire: the ring entries and descriptors the driver published before this index are
        // read after it, never from before the driver's writes.
        atomicMemoryFence(ordering: .acquiring)
        return availableIndex != nextAvailable
    }

    /// Takes the next chain the driver made available, or nil when there is none.
    public mutating func popAvailable(memory: GuestMemory) throws(VirtqueueError) -> DescriptorChain? {
        let availableIndex = try guarded { () throws(GuestMemoryError) in try memory.load(UInt16.self, at: availableRing + 2) }
        // Acquire: the available ring entry and its descriptors are read after the index.
        atomicMemoryFence(ordering: .acquiring)
        let pending = availableIndex &- nextAvailable
        if pending == 0 { return nil }
        guard pending <= size else { throw .availableIndexJumped(from: nextAvailable, to: availableIndex) }
        let slot = UInt64(nextAvailable % size)
        let head = try guarded { () throws(GuestMemoryError) in try memory.load(UInt16.self, at: availableRing + 4 + 2 * slot) }
        let buffers = try walk(head: head, memory: memory)
        nextAvailable &+= 1
        return DescriptorChain(head: head, buffers: buffers)
    }

    private func walk(head: UInt16, memory: GuestMemory) throws(VirtqueueError) -> [VirtqueueBuffer] {
        guard head < size else { throw .descriptorIndexOutOfRange(head) }
        var buffers: [VirtqueueBuffer] = []
        var table = descriptorTable
        var tableSize = UInt64(size)
        var index = UInt64(head)
        var steps = 0
        var inIndirect = false
        while true {
            steps += 1
            guard steps <= Int(size) + Int(tableSize) else { throw .chainTooLong }
            let entry = table + index * Self.descriptorSize
            let (address, length, flags, next) = try guarded { () throws(GuestMemoryError) in
                (
                    try memory.load(UInt64.self, at: entry), try memory.load(UInt32.self, at: entry + 8),
                    try memory.load(UInt16.self, at: entry + 12), try memory.load(UInt16.self, at: entry + 14)
                )
            }
            if flags & Self.flagIndirect != 0 {
                guard !inIndirect else { throw .nestedIndirect }
                guard length > 0, length % 16 == 0 else { throw .badIndirectTable(length: length) }
                guard memory.contains(address, length: UInt64(length)) else {
                    throw .outsideGuestMemory(address: address, length: UInt64(length))
                }
                inIndirect = true
                table = address
                tableSize = UInt64(length / 16)
                index = 0
                steps = 0
                continue
            }
            guard memory.contains(address, length: UInt64(length)) else {
                throw .outsideGuestMemory(address: address, length: UInt64(length))
            }
            buffers.append(VirtqueueBuffer(address: address, length: length, deviceWritable: flags & Self.flagWrite != 0))
            guard buffers.count <= 4096 else { throw .chainTooLong }
            if flags & Self.flagNext == 0 { return buffers }
            guard UInt64(next) < tableSize else { throw .descriptorIndexOutOfRange(next) }
            index = UInt64(next)
        }
    }

    /// Returns a chain to the driver with the number of bytes the device wrote into it.
    public mutating func pushUsed(head: UInt16, written: UInt32, memory: GuestMemory) throws(VirtqueueError) {
        let slot = UInt64(nextUsed % size)
        try guarded { () throws(GuestMemoryError) in
            try memory.store(UInt32(head), at: usedRing + 4 + 8 * slot)
            try memory.store(written, at: usedRing + 8 + 8 * slot)
        }
        // Release: the used element (and the buffers written for it) are visible to the driver
        // before the index that publishes them.
        atomicMemoryFence(ordering: .releasing)
        nextUsed &+= 1
        try guarded { () throws(GuestMemoryError) in try memory.store(nextUsed, at: usedRing + 2) }
    }

    /// Whether the driver asked not to be interrupted (VIRTQ_AVAIL_F_NO_INTERRUPT).
    public func interruptSuppressed(memory: GuestMemory) -> Bool {
        ((try? memory.load(UInt16.self, at: availableRing)) ?? 0) & 1 != 0
    }
}

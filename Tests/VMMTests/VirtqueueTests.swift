import Testing
@testable import VMM

@Suite struct VirtqueueTests {
    func queue(_ memory: GuestMemory, size: UInt16 = 8) throws -> Virtqueue {
        try Virtqueue(size: size, descriptorTable: 0x1000, availableRing: 0x2000, usedRing: 0x3000, memory: memory)
    }

    func descriptor(
        _ memory: GuestMemory, table: UInt64 = 0x1000, _ index: UInt64, address: UInt64, length: UInt32, flags: UInt16, next: UInt16
    ) throws {
        try memory.store(address, at: table + index * 16)
        try memory.store(length, at: table + index * 16 + 8)
        try memory.store(flags, at: table + index * 16 + 12)
        try memory.store(next, at: table + index * 16 + 14)
    }

    func makeAvailable(_ memory: GuestMemory, heads: [UInt16]) throws {
        for (i, head) in heads.enumerated() { try memory.store(head, at: 0x2000 + 4 + UInt64(i) * 2) }
        try memory.store(UInt16(heads.count), at: 0x2002)
    }

    @Test func aChainIsWalkedAndReturnedThroughTheUsedRing() throws {
        let memory = try GuestMemory(size: 1 << 20)
        var q = try queue(memory)
        try descriptor(memory, 0, address: 0x8000, length: 16, flags: Virtqueue.flagNext, next: 3)
        try descriptor(memory, 3, address: 0x9000, length: 512, flags: Virtqueue.flagWrite, next: 0)
        try makeAvailable(memory, heads: [0])
        let chain = try #require(try q.popAvailable(memory: memory))
        #expect(chain.head == 0)
        #expect(
            chain.buffers == [
                VirtqueueBuffer(address: 0x8000, length: 16, deviceWritable: false),
                VirtqueueBuffer(address: 0x9000, length: 512, deviceWritable: true),
            ])
        #expect(try q.popAvailable(memory: memory) == nil)
        try q.pushUsed(head: 0, written: 512, memory: memory)
        #expect(try memory.load(UInt16.self, at: 0x3002) == 1)
        #expect(try memory.load(UInt32.self, at: 0x3004) == 0)
        #expect(try memory.load(UInt32.self, at: 0x3008) == 512)
    }

    @Test func aDescriptorLoopIsCaughtInsteadOfSpinning() throws {
        let memory = try GuestMemory(size: 1 << 20)
        var q = try queue(memory)
        try descriptor(memory, 0, address: 0x8000, length: 16, flags: Virtqueue.flagNext, next: 1)
        try descriptor(memory, 1, address: 0x8000, length: 16, flags: Virtqueue.flagNext, next: 0)
        try makeAvailable(memory, heads: [0])
        #expect(throws: VirtqueueError.chainTooLong) { _ = try q.popAvailable(memory: memory) }
    }

    @Test func aSelfLoopIsCaught() throws {
        let memory = try GuestMemory(size: 1 << 20)
        var q = try queue(memory)
        try descriptor(memory, 2, address: 0x8000, length: 16, flags: Virtqueue.flagNext, next: 2)
        try makeAvailable(memory, heads: [2])
        #expect(throws: VirtqueueError.chainTooLong) { _ = try q.popAvailable(memory: memory) }
    }

    @Test func buffersOutsideGuestMemoryAreRefused() throws {
        let memory = try GuestMemory(size: 1 << 20)
        var q = try queue(memory)
        try descriptor(memory, 0, address: 0xFFFF_FFFF_FFFF_F000, length: 0x2000, flags: 0, next: 0)
        try makeAvailable(memory, heads: [0])
        #expect(throws: VirtqueueError.outsideGuestMemory(address: 0xFFFF_FFFF_FFFF_F000, length: 0x2000)) {
            _ = try q.popAvailable(memory: memory)
        }
    }

    @Test func aBufferStraddlingTheEndOfMemoryIsRefused() throws {
        let memory = try GuestMemory(size: 1 << 20)
        var q = try queue(memory)
        try descriptor(memory, 0, address: 0xFF000, length: 0x2000, flags: 0, next: 0)
        try makeAvailable(memory, heads: [0])
        #expect(throws: VirtqueueError.self) { _ = try q.popAvailable(memory: memory) }
    }

    @Test func headAndNextIndicesBeyondTheQueueAreRefused() throws {
        let memory = try GuestMemory(size: 1 << 20)
        var q = try queue(memory)
        try makeAvailable(memory, heads: [200])
        #expect(throws: VirtqueueError.descriptorIndexOutOfRange(200)) { _ = try q.popAvailable(memory: memory) }
        var q2 = try queue(memory)
        try descriptor(memory, 0, address: 0x8000, length: 16, flags: Virtqueue.flagNext, next: 9)
        try makeAvailable(memory, heads: [0])
        #expect(throws: VirtqueueError.descriptorIndexOutOfRange(9)) { _ = try q2.popAvailable(memory: memory) }
    }

    @Test func anAvailableIndexThatJumpsPastTheQueueIsRefused() throws {
        let memory = try GuestMemory(size: 1 << 20)
        var q = try queue(memory)
        try memory.store(UInt16(100), at: 0x2002)
        #expect(throws: VirtqueueError.availableIndexJumped(from: 0, to: 100)) { _ = try q.popAvailable(memory: memory) }
    }

    @Test func indirectTablesWorkButMayNotNest() throws {
        let memory = try GuestMemory(size: 1 << 20)
        var q = try queue(memory)
        try descriptor(memory, 0, address: 0x5000, length: 32, flags: Virtqueue.flagIndirect, next: 0)
        try descriptor(memory, table: 0x5000, 0, address: 0x8000, length: 16, flags: Virtqueue.flagNext, next: 1)
        try descriptor(memory, table: 0x5000, 1, address: 0x9000, length: 8, flags: Virtqueue.flagWrite, next: 0)
        try makeAvailable(memory, heads: [0])
        let chain = try #require(try q.popAvailable(memory: memory))
        #expect(chain.buffers.count == 2)
        #expect(chain.writable.first?.address == 0x9000)

        var nested = try queue(memory)
        try descriptor(memory, table: 0x5000, 1, address: 0x6000, length: 16, flags: Virtqueue.flagIndirect, next: 0)
        #expect(throws: VirtqueueError.nestedIndirect) { _ = try nested.popAvailable(memory: memory) }
    }

    @Test func ringsOutsideMemoryAndOddSizesAreRefusedAtSetup() throws {
        let memory = try GuestMemory(size: 1 << 20)
        #expect(throws: VirtqueueError.self) {
            _ = try Virtqueue(size: 8, descriptorTable: 0xFFFF0, availableRing: 0x2000, usedRing: 0x3000, memory: memory)
        }
        #expect(throws: VirtqueueError.self) {
            _ = try Virtqueue(size: 6, descriptorTable: 0x1000, availableRing: 0x2000, usedRing: 0x3000, memory: memory)
        }
        #expect(throws: VirtqueueError.self) {
            _ = try Virtqueue(size: 0, descriptorTable: 0x1000, availableRing: 0x2000, usedRing: 0x3000, memory: memory)
        }
    }
}

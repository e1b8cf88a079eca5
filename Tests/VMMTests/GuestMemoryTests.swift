import Testing
@testable import VMM

@Suite struct GuestMemoryTests {
    @Test func accessesInsideRAMWorkAndLittleEndianIsKept() throws {
        let memory = try GuestMemory(size: 1 << 20)
        try memory.store(UInt32(0x1122_3344), at: 0x101)
        #expect(try memory.read(at: 0x101, count: 4) == [0x44, 0x33, 0x22, 0x11])
        #expect(try memory.load(UInt32.self, at: 0x101) == 0x1122_3344)
        #expect(memory.contains(0, length: 1 << 20))
        #expect(memory.contains(1 << 20, length: 0))
    }

    @Test func accessesOutsideRAMAreRefusedWithoutOverflow() throws {
        let memory = try GuestMemory(size: 1 << 20)
        #expect(!memory.contains((1 << 20) - 1, length: 2))
        #expect(!memory.contains(UInt64.max, length: 1))
        #expect(!memory.contains(UInt64.max - 1, length: 4))
        #expect(!memory.contains(0x10, length: UInt64.max))
        #expect(throws: GuestMemoryError.self) { try memory.write([1, 2, 3], at: (1 << 20) - 2) }
        #expect(throws: GuestMemoryError.self) { _ = try memory.load(UInt64.self, at: UInt64.max - 3) }
    }

    @Test func memoryAboveTheMMIOHoleIsMappedAtFourGiB() throws {
        let memory = try GuestMemory(size: (3 << 30) + (1 << 30))
        #expect(memory.regions.count == 2)
        #expect(memory.lowMemoryEnd == GuestMemory.mmioHoleStart)
        #expect(memory.regions[1].guestBase == GuestMemory.fourGiB)
        #expect(!memory.contains(GuestMemory.mmioHoleStart, length: 1))
        #expect(!memory.contains(GuestMemory.mmioHoleStart - 1, length: 2))
        try memory.store(UInt8(7), at: GuestMemory.fourGiB + 5)
        #expect(try memory.load(UInt8.self, at: GuestMemory.fourGiB + 5) == 7)
        #expect(!memory.contains(GuestMemory.fourGiB + (1 << 30), length: 1))
    }
}

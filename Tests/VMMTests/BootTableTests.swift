import Testing
@testable import VMM

@Suite struct BootTableTests {
    @Test func e820DescribesLowRAMTheEBDAAndHighMemory() {
        let small = E820Map.build(lowMemoryEnd: 128 << 20, highMemorySize: 0)
        #expect(
            small == [
                E820Entry(address: 0, size: 0x9FC00, kind: .ram),
                E820Entry(address: 0x9FC00, size: 0x400, kind: .reserved),
                E820Entry(address: 0x10_0000, size: (128 << 20) - 0x10_0000, kind: .ram),
            ])
        let big = E820Map.build(lowMemoryEnd: GuestMemory.mmioHoleStart, highMemorySize: 1 << 30)
        #expect(big.last == E820Entry(address: 1 << 32, size: 1 << 30, kind: .ram))
        #expect(E820Entry(address: 1, size: 2, kind: .ram).bytes == [1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0])
    }

    @Test func bootParamsCarryTheFieldsTheKernelReads() throws {
        var params = BootParams(setupHeader: nil)
        params.setCommandLine(address: 0x20000, size: 42)
        params.setInitrd(address: 0x1_2345_6000, size: 0x1_0000_0010)
        try params.setMemoryMap(E820Map.build(lowMemoryEnd: 64 << 20, highMemorySize: 0))
        let b = params.bytes
        #expect(b.count == 4096)
        #expect(b.littleEndian(UInt16.self, at: 0x1FE) == 0xAA55)
        #expect(b.littleEndian(UInt32.self, at: 0x202) == 0x5372_6448)
        #expect(b[0x210] == 0xFF)
        #expect(b[0x211] & 0x81 == 0x81)
        #expect(b.littleEndian(UInt32.self, at: 0x228) == 0x20000)
        #expect(b.littleEndian(UInt32.self, at: 0x238) == 42)
        #expect(b.littleEndian(UInt32.self, at: 0x218) == 0x2345_6000)
        #expect(b.littleEndian(UInt32.self, at: 0x0C0) == 1)
        #expect(b.littleEndian(UInt32.self, at: 0x21C) == 0x10)
        #expect(b.littleEndian(UInt32.self, at: 0x0C4) == 1)
        #expect(b[0x1E8] == 3)
        #expect(b.littleEndian(UInt64.self, at: 0x2D0 + 40) == 0x10_0000)
        var tooMany = BootParams(setupHeader: nil)
        #expect(throws: VMMError.self) {
            try tooMany.setMemoryMap(Array(repeating: E820Entry(address: 0, size: 1, kind: .ram), count: 129))
        }
    }

    @Test func pageTablesIdentityMapTheFirstFourGiB() throws {
        let memory = try GuestMemory(size: 1 << 20)
        for table in IdentityPageTables.build() { try memory.write(table.page, at: table.address) }
        let read: (UInt64) -> UInt64? = { try? memory.load(UInt64.self, at: $0) }
        for address: UInt64 in [0, 0x1234, 0x10_0000, 0x3FFF_FFFF, 0x4000_0000, 0xD000_0000, 0xFEE0_0000, 0xFFFF_FFFF] {
            #expect(IdentityPageTables.translate(address, read: read) == address)
        }
        #expect(IdentityPageTables.translate(1 << 32, read: read) == nil)
        #expect(IdentityPageTables.build().count == 6)
    }

    @Test func gdtDescriptorsRoundTripAndMatchTheBootProtocol() {
        let code = Segment.code64(selector: 0x10)
        #expect(code.descriptor == 0x00AF_9B00_0000_FFFF)
        #expect(Segment.data(selector: 0x18).descriptor == 0x00CF_9300_0000_FFFF)
        #expect(Segment.code32(selector: 0x10).descriptor == 0x00CF_9B00_0000_FFFF)
        #expect(Segment(descriptor: code.descriptor, selector: 0x10) == code)
        #expect(code.long && !code.defaultBig && code.present && code.granularity)
        #expect(code.byteLimit == 0xFFFF_FFFF)
        let gdt = GlobalDescriptorTable.linux64()
        #expect(gdt.code.selector == 0x10)
        #expect(gdt.data.selector == 0x18)
        let bytes = gdt.bytes
        #expect(bytes.count == 40)
        #expect(bytes.littleEndian(UInt64.self, at: 0) == 0)
        #expect(bytes.littleEndian(UInt64.self, at: 0x10) == 0x00AF_9B00_0000_FFFF)
        #expect(bytes.littleEndian(UInt64.self, at: 0x20) == Segment.tss(selector: 0x20).descriptor)
    }

    @Test func entryStatesFollowTheirBootProtocols() {
        let linux = CPUEntryState.linux64(entry: 0x10_0200, bootParams: 0x7000)
        #expect(linux.cr0 & CPUEntryState.cr0Paging != 0)
        #expect(linux.cr4 & CPUEntryState.cr4PAE != 0)
        #expect(linux.efer == CPUEntryState.eferLME | CPUEntryState.eferLMA)
        #expect(linux.cr3 == GuestLayout.pml4Address)
        #expect(linux.rsi == 0x7000)
        let pvh = CPUEntryState.pvh(entry: 0x100_0000, startInfo: 0x6000)
        #expect(pvh.cr0 & CPUEntryState.cr0Paging == 0)
        #expect(pvh.cr0 & CPUEntryState.cr0ProtectionEnable != 0)
        #expect(pvh.efer == 0)
        #expect(pvh.rbx == 0x6000)
        #expect(!pvh.gdt.code.long && pvh.gdt.code.defaultBig)
    }

    @Test(arguments: [1, 2, 4, 64])
    func mpTableChecksumsAndEntriesAreValid(cpus: Int) throws {
        let table = try MPTable.build(cpus: cpus, at: GuestLayout.ebdaStart)
        #expect(table.count == MPTable.size(cpus: cpus))
        #expect(Array(table[0..<4]) == Array("_MP_".utf8))
        #expect(table[0..<16].reduce(UInt8(0), &+) == 0)
        #expect(table.littleEndian(UInt32.self, at: 4) == UInt32(GuestLayout.ebdaStart) + 16)
        let header = 16
        #expect(Array(table[header..<header + 4]) == Array("PCMP".utf8))
        let length = Int(table.littleEndian(UInt16.self, at: header + 4) ?? 0)
        #expect(header + length == table.count)
        #expect(table[header..<header + length].reduce(UInt8(0), &+) == 0)
        #expect(Int(table.littleEndian(UInt16.self, at: header + 34) ?? 0) == cpus + 2 + MPTable.ioapicPins + 2)
        #expect(table.littleEndian(UInt32.self, at: header + 36) == 0xFEE0_0000)
        // Processor entries: ids 0..<cpus, only the first is the bootstrap processor.
        for cpu in 0..<cpus {
            let entry = header + 44 + cpu * 20
            #expect(table[entry] == 0)
            #expect(Int(table[entry + 1]) == cpu)
            #expect(table[entry + 3] == (cpu == 0 ? 3 : 1))
        }
        let ioapic = header + 44 + cpus * 20 + 8
        #expect(table[ioapic] == 2)
        #expect(table.littleEndian(UInt32.self, at: ioapic + 4) == 0xFEC0_0000)
    }

    @Test func anMPTableForTooManyCPUsIsRefused() {
        #expect(throws: VMMError.self) { _ = try MPTable.build(cpus: 300, at: 0) }
        #expect(throws: VMMError.self) { _ = try MPTable.build(cpus: 0, at: 0) }
    }

    @Test func pvhStartInfoHasTheMagicAndPointers() {
        let info = PVHStartInfo.startInfo(commandLine: 0x20000, moduleList: 0x6040, moduleCount: 1, memoryMap: 0x6100, memoryMapEntries: 3)
        #expect(info.count == 56)
        #expect(info.littleEndian(UInt32.self, at: 0) == 0x336E_C578)
        #expect(info.littleEndian(UInt32.self, at: 4) == 1)
        #expect(info.littleEndian(UInt32.self, at: 12) == 1)
        #expect(info.littleEndian(UInt64.self, at: 16) == 0x6040)
        #expect(info.littleEndian(UInt64.self, at: 24) == 0x20000)
        #expect(info.littleEndian(UInt64.self, at: 40) == 0x6100)
        #expect(info.littleEndian(UInt32.self, at: 48) == 3)
        let map = PVHStartInfo.memoryMap([E820Entry(address: 0x10_0000, size: 0x1000, kind: .ram)])
        #expect(map.count == 24)
        #expect(map.littleEndian(UInt32.self, at: 16) == 1)
    }
}

@Suite struct CPUIDPolicyTests {
    let host = [
        CPUIDEntry(function: 0, eax: 0xD, ebx: 0x756E_6547),
        CPUIDEntry(function: 1, eax: 0x906EA, ebx: 0xFF00_0800, ecx: 0x0000_0008 | (1 << 26), edx: 0x0000_0001),
        CPUIDEntry(function: 4, index: 0, flags: 1, eax: 0xFC00_4121),
        CPUIDEntry(function: 6, ecx: 0x9),
        CPUIDEntry(function: 0xA, eax: 0x0760_4004, ebx: 0x7F, edx: 0x603),
        CPUIDEntry(function: 0xB, index: 0, flags: 1, eax: 1, ebx: 2, ecx: 0x100, edx: 7),
        CPUIDEntry(function: 0xB, index: 1, flags: 1, eax: 4, ebx: 8, ecx: 0x201, edx: 7),
        CPUIDEntry(function: 0x4000_0000, eax: 0x4000_0001, ebx: 0x4B4D_564B),
    ]

    func leaf(_ entries: [CPUIDEntry], _ function: UInt32, _ index: UInt32 = 0) -> CPUIDEntry? {
        entries.first { $0.function == function && $0.index == index }
    }

    @Test func eachVCPUSeesItsOwnAPICIDAndTheCPUCount() throws {
        let adjusted = CPUIDPolicy.adjust(host, cpuIndex: 2, cpuCount: 4)
        let features = try #require(leaf(adjusted, 1))
        #expect(features.ebx >> 24 == 2)
        #expect((features.ebx >> 16) & 0xFF == 4)
        #expect(features.ebx & 0xFFFF == 0x0800)
        #expect(features.ecx & CPUIDPolicy.ecxHypervisor != 0)
        #expect(features.ecx & CPUIDPolicy.ecxMonitor == 0)
        #expect(features.ecx & (1 << 26) != 0, "other feature bits are kept")
        #expect(features.edx & CPUIDPolicy.edxHyperThreading != 0)
        #expect(((leaf(adjusted, 4)?.eax ?? 0) >> 26) == 3)
        #expect(((leaf(adjusted, 4)?.eax ?? 0) & 0x03FF_FFFF) == 0x4121)
        #expect(leaf(adjusted, 0xB, 0)?.edx == 2)
        #expect(leaf(adjusted, 0xB, 1)?.ebx == 4)
        #expect(leaf(adjusted, 0xB, 1)?.eax == 2)
    }

    @Test func aSingleCPUHasNoHyperThreadingAndNoPMU() throws {
        let adjusted = CPUIDPolicy.adjust(host, cpuIndex: 0, cpuCount: 1)
        #expect(((leaf(adjusted, 1)?.edx ?? 1) & CPUIDPolicy.edxHyperThreading) == 0)
        #expect(leaf(adjusted, 0xA) == CPUIDEntry(function: 0xA))
        #expect(leaf(adjusted, 6)?.ecx == 0x1)
        #expect(leaf(adjusted, 0x4000_0000) == leaf(host, 0x4000_0000), "leaves the policy does not know pass through")
        #expect(adjusted.count == host.count)
    }

    @Test func theTSCDeadlineTimerIsAdvertisedOnlyWhenKVMHasIt() {
        let without = CPUIDPolicy.adjust(host, cpuIndex: 0, cpuCount: 1)
        #expect(((leaf(without, 1)?.ecx ?? 0) & CPUIDPolicy.ecxTSCDeadline) == 0)
        let with = CPUIDPolicy.adjust(host, cpuIndex: 0, cpuCount: 1, tscDeadline: true)
        let features = leaf(with, 1)?.ecx ?? 0
        #expect(features & CPUIDPolicy.ecxTSCDeadline != 0)
        #expect(features & (1 << 26) != 0 && features & CPUIDPolicy.ecxHypervisor != 0)
    }
}

@Suite struct KVMSegmentTests {
    @Test func segmentsBecomeTheHiddenStateKVMExpects() {
        let code = VirtualCPU.kvmSegment(.code64(selector: 0x10))
        #expect(code.selector == 0x10 && code.type == 0xB && code.present == 1 && code.s == 1)
        #expect(code.l == 1 && code.db == 0 && code.g == 1 && code.limit == 0xFFFF_FFFF && code.base == 0)
        let data = VirtualCPU.kvmSegment(.data(selector: 0x18))
        #expect(data.type == 0x3 && data.db == 1 && data.l == 0)
        let tss = VirtualCPU.kvmSegment(.tss(selector: 0x20))
        #expect(tss.s == 0 && tss.type == 0xB)
        let code32 = VirtualCPU.kvmSegment(.code32(selector: 0x10))
        #expect(code32.l == 0 && code32.db == 1)
    }
}

import Testing
@testable import VMM

@Suite struct BzImageTests {
    @Test func theSetupHeaderIsParsed() throws {
        let image = KernelImageFixtures.bzImage(payload: [UInt8](repeating: 0x90, count: 4096), setupSectors: 3)
        let bz = try #require(try BzImage.parse(image))
        #expect(bz.protocolVersion == 0x020F)
        #expect(bz.setupSectors == 3)
        #expect(bz.payloadOffset == 4 * 512)
        #expect(bz.relocatable)
        #expect(bz.loadAddress == 0x10_0000)
        #expect(bz.entry64 == 0x10_0200)
        #expect(bz.commandLineSize == 2047)
        #expect(bz.setupHeader.count == 0x202 + 0x6A - 0x1F1)
    }

    @Test func zeroSetupSectorsMeansFour() throws {
        var image = KernelImageFixtures.bzImage(payload: [UInt8](repeating: 0, count: 8192), setupSectors: 4)
        image[0x1F1] = 0
        #expect(try BzImage.parse(image)?.setupSectors == 4)
    }

    @Test func aNonRelocatableKernelGoesToItsPreferredAddress() throws {
        let image = KernelImageFixtures.bzImage(payload: [0], relocatable: false)
        #expect(try BzImage.parse(image)?.loadAddress == 0x100_0000)
    }

    @Test func filesWithoutTheHeaderAreNotBzImages() throws {
        #expect(try BzImage.parse([UInt8](repeating: 0, count: 4096)) == nil)
        #expect(try BzImage.parse([1, 2, 3]) == nil)
    }

    @Test(arguments: [
        KernelImageFixtures.bzImage(payload: [0], version: 0x0204),
        KernelImageFixtures.bzImage(payload: [0], xloadflags: 0),
        KernelImageFixtures.bzImage(payload: [0], loadFlags: 0),
        Array(KernelImageFixtures.bzImage(payload: [0], setupSectors: 30).prefix(2048)),
    ])
    func brokenOrUnsupportedBzImagesAreRefused(image: [UInt8]) {
        #expect(throws: VMMError.self) { _ = try BzImage.parse(image) }
    }
}

@Suite struct ElfKernelTests {
    @Test func segmentsAndThePVHNoteAreFound() throws {
        let file = KernelImageFixtures.elf(
            entry: 0x100000, segments: [.init(address: 0x100000, data: [1, 2, 3], memorySize: 0x2000)], pvhEntry: 0x100040)
        let elf = try #require(try ElfKernel.parse(file))
        #expect(elf.entry == 0x100000)
        #expect(elf.pvhEntry == 0x100040)
        #expect(elf.segments.count == 1)
        #expect(elf.segments[0].fileSize == 3)
        #expect(elf.segments[0].memorySize == 0x2000)
    }

    @Test func anElfWithoutNoteHasNoPVHEntry() throws {
        let file = KernelImageFixtures.elf(entry: 0x100000, segments: [.init(address: 0x100000, data: [1], memorySize: 1)])
        #expect(try ElfKernel.parse(file)?.pvhEntry == nil)
    }

    @Test func nonElfFilesAreNotElf() throws {
        #expect(try ElfKernel.parse([0x7F, 0x45]) == nil)
        #expect(try ElfKernel.parse(Array("hello world".utf8)) == nil)
    }

    @Test func wrongClassOrMachineIsRefused() {
        #expect(throws: VMMError.self) {
            _ = try ElfKernel.parse(
                KernelImageFixtures.elf(entry: 0, segments: [.init(address: 0x100000, data: [1], memorySize: 1)], elfClass: 1))
        }
        #expect(throws: VMMError.self) {
            _ = try ElfKernel.parse(
                KernelImageFixtures.elf(entry: 0, segments: [.init(address: 0x100000, data: [1], memorySize: 1)], machine: 0xB7))
        }
    }

    @Test func hostileProgramHeadersAreRefused() {
        var file = KernelImageFixtures.elf(entry: 0x100000, segments: [.init(address: 0x100000, data: [1, 2, 3, 4], memorySize: 4)])
        // File size beyond the end of the file.
        KernelImageFixtures.put(UInt64(1 << 40), 64 + 32, into: &file)
        #expect(throws: VMMError.self) { _ = try ElfKernel.parse(file) }
        // Memory size smaller than file size.
        var small = KernelImageFixtures.elf(entry: 0x100000, segments: [.init(address: 0x100000, data: [1, 2, 3, 4], memorySize: 4)])
        KernelImageFixtures.put(UInt64(2), 64 + 40, into: &small)
        #expect(throws: VMMError.self) { _ = try ElfKernel.parse(small) }
        // Program header table past the end of the file.
        var far = KernelImageFixtures.elf(entry: 0x100000, segments: [.init(address: 0x100000, data: [1], memorySize: 1)])
        KernelImageFixtures.put(UInt64.max - 8, 0x20, into: &far)
        #expect(throws: VMMError.self) { _ = try ElfKernel.parse(far) }
        // A count of program headers no kernel has.
        var many = KernelImageFixtures.elf(entry: 0x100000, segments: [.init(address: 0x100000, data: [1], memorySize: 1)])
        KernelImageFixtures.put(UInt16(0xFFFF), 0x38, into: &many)
        #expect(throws: VMMError.self) { _ = try ElfKernel.parse(many) }
    }

    @Test func aTruncatedNoteIsIgnoredNotTrusted() {
        #expect(ElfKernel.pvhEntry(inNotes: [4, 0, 0, 0, 0xFF, 0xFF, 0, 0, 18, 0, 0, 0, 0x58, 0x65, 0x6E, 0]) == nil)
    }
}

@Suite struct KernelLoaderTests {
    @Test func aBzImageIsLoadedWithBootParamsAndTables() throws {
        let payload = [UInt8](repeating: 0xCC, count: 0x1000)
        let image = KernelImageFixtures.bzImage(payload: payload)
        let memory = try GuestMemory(size: 64 << 20)
        let initrd = [UInt8](repeating: 0x5A, count: 10000)
        let plan = try KernelLoader(kernel: image, initrd: initrd, commandLine: "console=ttyS0", cpus: 2).load(into: memory)
        #expect(plan.bootProtocol == .bzImage64)
        #expect(plan.entryState.rip == 0x10_0200)
        #expect(plan.entryState.rsi == GuestLayout.zeroPageAddress)
        #expect(plan.entryState.mode == .long64)
        #expect(try memory.read(at: 0x10_0000, count: 4) == [0xCC, 0xCC, 0xCC, 0xCC])
        let zeroPage = try memory.read(at: GuestLayout.zeroPageAddress, count: 4096)
        #expect(zeroPage.littleEndian(UInt32.self, at: 0x202) == BzImage.headerMagic)
        #expect(zeroPage[0x210] == 0xFF)
        #expect(zeroPage.littleEndian(UInt32.self, at: 0x228) == UInt32(GuestLayout.commandLineAddress))
        let initrdAddress = try #require(plan.initrd?.address)
        #expect(zeroPage.littleEndian(UInt32.self, at: 0x218) == UInt32(initrdAddress))
        #expect(zeroPage.littleEndian(UInt32.self, at: 0x21C) == 10000)
        #expect(initrdAddress % 4096 == 0)
        #expect(initrdAddress >= 0x100_0000 + 0x20_0000, "clear of where the kernel decompresses itself")
        #expect(initrdAddress + 10000 <= 64 << 20)
        #expect(try memory.read(at: initrdAddress, count: 2) == [0x5A, 0x5A])
        #expect(try memory.read(at: GuestLayout.commandLineAddress, count: 14) == Array("console=ttyS0".utf8) + [0])
        #expect(zeroPage[0x1E8] == 3)
        #expect(try memory.read(at: GuestLayout.ebdaStart, count: 4) == Array("_MP_".utf8))
    }

    @Test func anElfWithANoteBootsThroughPVH() throws {
        let file = KernelImageFixtures.elf(
            entry: 0x20_0000, segments: [.init(address: 0x20_0000, data: [0xF4], memorySize: 0x3000)], pvhEntry: 0x20_0000)
        let memory = try GuestMemory(size: 32 << 20)
        try memory.fill(0xEE, at: 0x20_0000, count: 0x3000)
        let plan = try KernelLoader(kernel: file, initrd: nil, commandLine: "x", cpus: 1).load(into: memory)
        #expect(plan.bootProtocol == .pvh)
        #expect(plan.entryState.mode == .protected32)
        #expect(plan.entryState.rbx == GuestLayout.pvhStartInfoAddress)
        #expect(try memory.load(UInt32.self, at: GuestLayout.pvhStartInfoAddress) == PVHStartInfo.magic)
        #expect(try memory.read(at: 0x20_0000, count: 2) == [0xF4, 0])  // bss zeroed
        #expect(try memory.load(UInt32.self, at: GuestLayout.pvhStartInfoAddress + 48) == 3)
    }

    @Test func anElfWithoutNoteUsesThe64BitEntry() throws {
        let file = KernelImageFixtures.elf(entry: 0x10_0000, segments: [.init(address: 0x10_0000, data: [0xF4], memorySize: 1)])
        let memory = try GuestMemory(size: 16 << 20)
        let plan = try KernelLoader(kernel: file, initrd: nil, commandLine: "", cpus: 1).load(into: memory)
        #expect(plan.bootProtocol == .elf64)
        #expect(plan.entryState.rip == 0x10_0000)
    }

    @Test func segmentsOutsideRAMOrOverTheBootAreaAreRefused() throws {
        let memory = try GuestMemory(size: 16 << 20)
        let high = KernelImageFixtures.elf(entry: 0, segments: [.init(address: 0xF000_0000, data: [1], memorySize: 1)])
        #expect(throws: VMMError.self) { _ = try KernelLoader(kernel: high, initrd: nil, commandLine: "", cpus: 1).load(into: memory) }
        let low = KernelImageFixtures.elf(entry: 0, segments: [.init(address: 0x7000, data: [1], memorySize: 1)])
        #expect(throws: VMMError.self) { _ = try KernelLoader(kernel: low, initrd: nil, commandLine: "", cpus: 1).load(into: memory) }
        let wrapping = KernelImageFixtures.elf(entry: 0, segments: [.init(address: UInt64.max - 10, data: [1], memorySize: 100)])
        #expect(throws: VMMError.self) { _ = try KernelLoader(kernel: wrapping, initrd: nil, commandLine: "", cpus: 1).load(into: memory) }
    }

    @Test func tooLongACommandLineOrTooBigAnInitrdIsRefused() throws {
        let memory = try GuestMemory(size: 32 << 20)
        let image = KernelImageFixtures.bzImage(payload: [0], commandLineSize: 10)
        #expect(throws: VMMError.commandLineTooLong(length: 11, maximum: 10)) {
            _ = try KernelLoader(kernel: image, initrd: nil, commandLine: "01234567890", cpus: 1).load(into: memory)
        }
        let big = [UInt8](repeating: 0, count: 15 << 20)  // does not fit above the decompressed kernel (18 MiB)
        #expect(throws: VMMError.self) { _ = try KernelLoader(kernel: image, initrd: big, commandLine: "", cpus: 1).load(into: memory) }
    }

    @Test func aHostilePreferredAddressCannotOverflowThePlacement() throws {
        var image = KernelImageFixtures.bzImage(payload: [0], initSize: 0xFFFF_FFFF)
        KernelImageFixtures.put(UInt64.max - 0x1000, 0x258, into: &image)
        let memory = try GuestMemory(size: 16 << 20)
        #expect(throws: VMMError.self) { _ = try KernelLoader(kernel: image, initrd: nil, commandLine: "", cpus: 1).load(into: memory) }
        var huge = KernelImageFixtures.bzImage(payload: [0], relocatable: false)
        KernelImageFixtures.put(UInt64.max - 0x10, 0x258, into: &huge)
        #expect(throws: VMMError.self) { _ = try KernelLoader(kernel: huge, initrd: nil, commandLine: "", cpus: 1).load(into: memory) }
    }

    @Test func aKernelWhoseDecompressedImageDoesNotFitIsRefused() throws {
        let memory = try GuestMemory(size: 16 << 20)
        let image = KernelImageFixtures.bzImage(payload: [0])
        #expect(throws: VMMError.self) { _ = try KernelLoader(kernel: image, initrd: nil, commandLine: "", cpus: 1).load(into: memory) }
    }

    @Test func garbageIsNeitherFormat() throws {
        let memory = try GuestMemory(size: 16 << 20)
        #expect(throws: VMMError.self) {
            _ = try KernelLoader(kernel: Array("#!/bin/sh\n".utf8), initrd: nil, commandLine: "", cpus: 1).load(into: memory)
        }
    }
}

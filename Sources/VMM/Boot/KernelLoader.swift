/// Which boot protocol the loader chose for a kernel image.
public enum BootProtocol: Equatable, Sendable {
    case bzImage64
    case elf64
    case pvh
}

/// What the loader left in guest memory and how the boot vCPU must start.
public struct BootPlan: Sendable {
    public let bootProtocol: BootProtocol
    public let entryState: CPUEntryState
    public let kernelEnd: UInt64
    public let initrd: (address: UInt64, size: UInt64)?
}

/// Places a kernel, initrd, command line and the boot structures (boot_params or PVH start_info,
/// e820, MP table, GDT, page tables) into guest memory. Accepts a bzImage (64-bit boot protocol)
/// or an x86-64 ELF (PVH entry when the note is present, else the 64-bit entry at e_entry).
/// Every placement is checked against guest memory before anything is written.
public struct KernelLoader {
    public var kernel: [UInt8]
    public var initrd: [UInt8]?
    public var commandLine: String
    public var cpus: Int
    /// Use the PVH entry of an ELF kernel when it has one (else its 64-bit entry).
    public var preferPVH = true

    public init(kernel: [UInt8], initrd: [UInt8]?, commandLine: String, cpus: Int) {
        self.kernel = kernel
        self.initrd = initrd
        self.commandLine = commandLine
        self.cpus = cpus
    }

    public func load(into memory: GuestMemory) throws(VMMError) -> BootPlan {
        guard memory.lowMemoryEnd > GuestLayout.highMemoryStart + 0x10_0000 else {
            throw .memoryTooSmall(requestedMiB: memory.size >> 20, minimumMiB: 4)
        }
        if let bz = try BzImage.parse(kernel) {
            return try loadBzImage(bz, into: memory)
        }
        if let elf = try ElfKernel.parse(kernel) {
            return try loadElf(elf, into: memory)
        }
        throw .kernelFormat("the file is neither a bzImage (no 'HdrS' setup header) nor an ELF executable")
    }

    private func loadBzImage(_ bz: BzImage, into memory: GuestMemory) throws(VMMError) -> BootPlan {
        let payload = kernel[bz.payloadOffset...]
        let footprint = max(UInt64(payload.count), UInt64(bz.initSize))
        let load = bz.loadAddress
        guard load >= GuestLayout.highMemoryStart, memory.contains(load, length: footprint),
            load + footprint <= memory.lowMemoryEnd
        else {
            throw .kernelDoesNotFit("it needs \(footprint >> 10) KiB at 0x\(String(load, radix: 16))")
        }
        try write(Array(payload), at: load, in: memory)
        var params = BootParams(setupHeader: bz.setupHeader)
        // A relocatable kernel decompresses itself to its preferred address (LOAD_PHYSICAL_ADDR)
        // when loaded below it; the initrd must stay clear of that area too.
        let (decompressedEnd, overflow) = max(load, bz.preferredAddress).addingReportingOverflow(UInt64(bz.initSize))
        guard !overflow, decompressedEnd <= memory.lowMemoryEnd else {
            throw .kernelDoesNotFit("it decompresses to 0x\(String(bz.preferredAddress, radix: 16)) with \(bz.initSize >> 10) KiB")
        }
        let kernelEnd = max(load + footprint, decompressedEnd)
        let initrdPlacement = try placeInitrd(in: memory, above: kernelEnd, limit: UInt64(bz.initrdAddressMaximum) + 1)
        try writeCommon(into: memory, params: &params, commandLineMaximum: Int(bz.commandLineSize), initrd: initrdPlacement)
        return BootPlan(
            bootProtocol: .bzImage64, entryState: .linux64(entry: bz.entry64, bootParams: GuestLayout.zeroPageAddress),
            kernelEnd: kernelEnd, initrd: initrdPlacement)
    }

    private func loadElf(_ elf: ElfKernel, into memory: GuestMemory) throws(VMMError) -> BootPlan {
        var kernelEnd: UInt64 = 0
        for segment in elf.segments {
            guard segment.physicalAddress >= GuestLayout.highMemoryStart,
                memory.contains(segment.physicalAddress, length: segment.memorySize)
            else {
                throw .kernelDoesNotFit(
                    "ELF segment at 0x\(String(segment.physicalAddress, radix: 16)) of \(segment.memorySize) bytes is outside guest RAM above 1 MiB"
                )
            }
            kernelEnd = max(kernelEnd, segment.physicalAddress + segment.memorySize)
        }
        for segment in elf.segments {
            try write(Array(kernel[segment.fileOffset..<segment.fileOffset + segment.fileSize]), at: segment.physicalAddress, in: memory)
            let bss = segment.memorySize - UInt64(segment.fileSize)
            if bss > 0 {
                do { try memory.fill(0, at: segment.physicalAddress + UInt64(segment.fileSize), count: Int(bss)) } catch {
                    throw .kernelDoesNotFit(error.description)
                }
            }
        }
        let initrdPlacement = try placeInitrd(in: memory, above: kernelEnd, limit: GuestMemory.mmioHoleStart)
        if let pvhEntry = elf.pvhEntry, preferPVH {
            try writePVH(into: memory, initrd: initrdPlacement)
            return BootPlan(
                bootProtocol: .pvh, entryState: .pvh(entry: pvhEntry, startInfo: GuestLayout.pvhStartInfoAddress),
                kernelEnd: kernelEnd, initrd: initrdPlacement)
        }
        var params = BootParams(setupHeader: nil)
        try writeCommon(into: memory, params: &params, commandLineMaximum: GuestLayout.commandLineMaximum - 1, initrd: initrdPlacement)
        return BootPlan(
            bootProtocol: .elf64, entryState: .linux64(entry: elf.entry, bootParams: GuestLayout.zeroPageAddress),
            kernelEnd: kernelEnd, initrd: initrdPlacement)
    }

    /// Puts the initrd as high as the kernel allows, page aligned, above the kernel.
    private func placeInitrd(in memory: GuestMemory, above kernelEnd: UInt64, limit: UInt64) throws(VMMError) -> (
        address: UInt64, size: UInt64
    )? {
        guard let initrd, !initrd.isEmpty else { return nil }
        let size = UInt64(initrd.count)
        let top = min(limit, memory.lowMemoryEnd)
        guard top > size else { throw .initrdDoesNotFit(size: size) }
        let address = (top - size) & ~UInt64(0xFFF)
        guard address >= kernelEnd else { throw .initrdDoesNotFit(size: size) }
        try write(initrd, at: address, in: memory)
        return (address, size)
    }

    private func writeCommandLine(into memory: GuestMemory, maximum: Int) throws(VMMError) {
        let bytes = Array(commandLine.utf8)
        let limit = min(maximum, GuestLayout.commandLineMaximum - 1)
        guard bytes.count <= limit else { throw .commandLineTooLong(length: bytes.count, maximum: limit) }
        try write(bytes + [0], at: GuestLayout.commandLineAddress, in: memory)
    }

    /// Everything the 64-bit entry needs besides the kernel: command line, boot_params, tables.
    private func writeCommon(
        into memory: GuestMemory, params: inout BootParams, commandLineMaximum: Int, initrd: (address: UInt64, size: UInt64)?
    ) throws(VMMError) {
        try writeCommandLine(into: memory, maximum: commandLineMaximum)
        params.setCommandLine(address: GuestLayout.commandLineAddress, size: commandLine.utf8.count)
        if let initrd { params.setInitrd(address: initrd.address, size: initrd.size) }
        try params.setMemoryMap(E820Map.build(for: memory))
        try write(params.bytes, at: GuestLayout.zeroPageAddress, in: memory)
        try writeTables(into: memory, gdt: .linux64())
        for table in IdentityPageTables.build() { try write(table.page, at: table.address, in: memory) }
    }

    private func writePVH(into memory: GuestMemory, initrd: (address: UInt64, size: UInt64)?) throws(VMMError) {
        try writeCommandLine(into: memory, maximum: GuestLayout.commandLineMaximum - 1)
        let map = E820Map.build(for: memory)
        try write(PVHStartInfo.memoryMap(map), at: GuestLayout.pvhMemoryMapAddress, in: memory)
        if let initrd {
            try write(PVHStartInfo.module(address: initrd.address, size: initrd.size), at: GuestLayout.pvhModuleListAddress, in: memory)
        }
        let info = PVHStartInfo.startInfo(
            commandLine: GuestLayout.commandLineAddress,
            moduleList: initrd == nil ? nil : GuestLayout.pvhModuleListAddress,
            moduleCount: initrd == nil ? 0 : 1,
            memoryMap: GuestLayout.pvhMemoryMapAddress, memoryMapEntries: UInt32(map.count))
        try write(info, at: GuestLayout.pvhStartInfoAddress, in: memory)
        try writeTables(into: memory, gdt: .pvh32())
    }

    private func writeTables(into memory: GuestMemory, gdt: GlobalDescriptorTable) throws(VMMError) {
        try write(gdt.bytes, at: GuestLayout.gdtAddress, in: memory)
        try write([UInt8](repeating: 0, count: 8), at: GuestLayout.idtAddress, in: memory)
        try write(MPTable.build(cpus: cpus, at: GuestLayout.ebdaStart), at: GuestLayout.ebdaStart, in: memory)
    }

    private func write(_ bytes: [UInt8], at address: UInt64, in memory: GuestMemory) throws(VMMError) {
        do { try memory.write(bytes, at: address) } catch { throw .kernelDoesNotFit(error.description) }
    }
}

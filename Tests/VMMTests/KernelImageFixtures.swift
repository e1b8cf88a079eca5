/// Builders for kernel images in the exact on-disk formats the loader parses, so parsing and
/// loading can be tested byte for byte without a real kernel.
enum KernelImageFixtures {
    static func put<T: FixedWidthInteger>(_ value: T, _ offset: Int, into bytes: inout [UInt8]) {
        for i in 0..<MemoryLayout<T>.size { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
    }

    /// A bzImage: `setupSectors` setup sectors with a protocol-2.15 header, then the payload.
    static func bzImage(
        payload: [UInt8], setupSectors: UInt8 = 1, version: UInt16 = 0x020F, xloadflags: UInt16 = 1,
        relocatable: Bool = true, loadFlags: UInt8 = 1, initSize: UInt32 = 0x20_0000, commandLineSize: UInt32 = 2047
    ) -> [UInt8] {
        var setup = [UInt8](repeating: 0, count: (Int(setupSectors) + 1) * 512)
        setup[0x1F1] = setupSectors
        put(UInt16(0xAA55), 0x1FE, into: &setup)
        setup[0x200] = 0xEB
        setup[0x201] = 0x6A
        put(UInt32(0x5372_6448), 0x202, into: &setup)
        put(version, 0x206, into: &setup)
        setup[0x211] = loadFlags
        put(UInt32(0x37FF_FFFF), 0x22C, into: &setup)
        put(UInt32(0x20_0000), 0x230, into: &setup)
        setup[0x234] = relocatable ? 1 : 0
        put(xloadflags, 0x236, into: &setup)
        put(commandLineSize, 0x238, into: &setup)
        put(UInt64(0x100_0000), 0x258, into: &setup)
        put(initSize, 0x260, into: &setup)
        return setup + payload
    }

    struct Segment {
        var address: UInt64
        var data: [UInt8]
        var memorySize: UInt64
    }

    /// An ELF64 x86-64 executable with PT_LOAD segments and, optionally, a Xen PHYS32_ENTRY note.
    static func elf(entry: UInt64, segments: [Segment], pvhEntry: UInt32? = nil, machine: UInt16 = 0x3E, elfClass: UInt8 = 2) -> [UInt8] {
        var note: [UInt8] = []
        if let pvhEntry {
            note = [UInt8](repeating: 0, count: 20)
            put(UInt32(4), 0, into: &note)
            put(UInt32(4), 4, into: &note)
            put(UInt32(18), 8, into: &note)
            note[12] = 0x58
            note[13] = 0x65
            note[14] = 0x6E
            put(pvhEntry, 16, into: &note)
        }
        let headerCount = segments.count + (note.isEmpty ? 0 : 1)
        var file = [UInt8](repeating: 0, count: 64 + 56 * headerCount)
        file[0] = 0x7F
        file[1] = 0x45
        file[2] = 0x4C
        file[3] = 0x46
        file[4] = elfClass
        file[5] = 1
        file[6] = 1
        put(UInt16(2), 0x10, into: &file)
        put(machine, 0x12, into: &file)
        put(entry, 0x18, into: &file)
        put(UInt64(64), 0x20, into: &file)
        put(UInt16(64), 0x34, into: &file)
        put(UInt16(56), 0x36, into: &file)
        put(UInt16(headerCount), 0x38, into: &file)
        var index = 0
        for segment in segments {
            let offset = file.count
            file += segment.data
            let ph = 64 + 56 * index
            put(UInt32(1), ph, into: &file)
            put(UInt64(offset), ph + 8, into: &file)
            put(segment.address, ph + 16, into: &file)
            put(segment.address, ph + 24, into: &file)
            put(UInt64(segment.data.count), ph + 32, into: &file)
            put(segment.memorySize, ph + 40, into: &file)
            index += 1
        }
        if !note.isEmpty {
            let offset = file.count
            file += note
            let ph = 64 + 56 * index
            put(UInt32(4), ph, into: &file)
            put(UInt64(offset), ph + 8, into: &file)
            put(UInt64(note.count), ph + 32, into: &file)
            put(UInt64(note.count), ph + 40, into: &file)
        }
        return file
    }
}

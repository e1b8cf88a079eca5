/// An x86-64 ELF kernel (an uncompressed vmlinux or a freestanding guest): its loadable segments
/// and, when present, the PVH entry point from the XEN_ELFNOTE_PHYS32_ENTRY note. Parsed from an
/// untrusted file with every offset and size checked.
public struct ElfKernel: Sendable {
    public struct Segment: Sendable, Equatable {
        public let physicalAddress: UInt64
        public let fileOffset: Int
        public let fileSize: Int
        public let memorySize: UInt64
    }

    public static let xenNotePhys32Entry: UInt32 = 18
    public static let maximumSegments = 64

    public let entry: UInt64
    public let segments: [Segment]
    /// 32-bit protected-mode entry of the PVH boot protocol, when the kernel advertises one.
    public let pvhEntry: UInt32?

    /// nil when `file` is not ELF at all; throws when it is ELF but not a loadable x86-64 image.
    public static func parse(_ file: [UInt8]) throws(VMMError) -> ElfKernel? {
        guard file.count >= 4, file[0] == 0x7F, file[1] == 0x45, file[2] == 0x4C, file[3] == 0x46 else { return nil }
        return try ElfKernel(file)
    }

    private init(_ file: [UInt8]) throws(VMMError) {
        guard file.count >= 64 else { throw .kernelFormat("ELF header is truncated") }
        guard file[4] == 2 else { throw .kernelFormat("ELF file is 32-bit; an x86-64 (ELFCLASS64) kernel is needed") }
        guard file[5] == 1 else { throw .kernelFormat("ELF file is big-endian") }
        guard file.littleEndian(UInt16.self, at: 0x12) == 0x3E else { throw .kernelFormat("ELF file is not for x86-64") }
        guard let entry = file.littleEndian(UInt64.self, at: 0x18),
            let phoff = file.littleEndian(UInt64.self, at: 0x20),
            let phentsize = file.littleEndian(UInt16.self, at: 0x36),
            let phnum = file.littleEndian(UInt16.self, at: 0x38)
        else { throw .kernelFormat("ELF header is truncated") }
        guard phentsize >= 56 else { throw .kernelFormat("ELF program header entries are too small") }
        guard phnum > 0, Int(phnum) <= Self.maximumSegments else { throw .kernelFormat("ELF file has \(phnum) program headers") }
        guard phoff < UInt64(file.count), UInt64(phnum) * UInt64(phentsize) <= UInt64(file.count) - phoff else {
            throw .kernelFormat("ELF program headers lie outside the file")
        }
        var segments: [Segment] = []
        var pvh: UInt32?
        for i in 0..<Int(phnum) {
            let base = Int(phoff) + i * Int(phentsize)
            guard let type = file.littleEndian(UInt32.self, at: base),
                let offset = file.littleEndian(UInt64.self, at: base + 8),
                let paddr = file.littleEndian(UInt64.self, at: base + 24),
                let filesz = file.littleEndian(UInt64.self, at: base + 32),
                let memsz = file.littleEndian(UInt64.self, at: base + 40)
            else { throw .kernelFormat("ELF program header \(i) is truncated") }
            guard offset <= UInt64(file.count), filesz <= UInt64(file.count) - offset else {
                throw .kernelFormat("ELF segment \(i) lies outside the file")
            }
            switch type {
            case 1:  // PT_LOAD
                guard memsz >= filesz else { throw .kernelFormat("ELF segment \(i) is smaller in memory than in the file") }
                if memsz == 0 { continue }
                segments.append(Segment(physicalAddress: paddr, fileOffset: Int(offset), fileSize: Int(filesz), memorySize: memsz))
            case 4:  // PT_NOTE
                if let found = Self.pvhEntry(inNotes: file[Int(offset)..<Int(offset + filesz)]) { pvh = found }
            default:
                continue
            }
        }
        guard !segments.isEmpty else { throw .kernelFormat("ELF file has no loadable segment") }
        self.entry = entry
        self.segments = segments
        self.pvhEntry = pvh
    }

    /// Walks an ELF note area looking for the Xen PHYS32_ENTRY note.
    static func pvhEntry(inNotes notes: ArraySlice<UInt8>) -> UInt32? {
        let bytes = Array(notes)
        var offset = 0
        func align4(_ n: Int) -> Int { (n + 3) & ~3 }
        while offset + 12 <= bytes.count {
            guard let namesz = bytes.littleEndian(UInt32.self, at: offset),
                let descsz = bytes.littleEndian(UInt32.self, at: offset + 4),
                let type = bytes.littleEndian(UInt32.self, at: offset + 8),
                namesz < 0x1000, descsz < 0x1000
            else { return nil }
            let nameStart = offset + 12
            let descStart = nameStart + align4(Int(namesz))
            let next = descStart + align4(Int(descsz))
            guard next <= bytes.count else { return nil }
            if type == xenNotePhys32Entry, namesz == 4, Array(bytes[nameStart..<nameStart + 3]) == [0x58, 0x65, 0x6E], descsz >= 4 {
                return bytes.littleEndian(UInt32.self, at: descStart)
            }
            offset = next
        }
        return nil
    }
}

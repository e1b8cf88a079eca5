/// The parts of a bzImage's setup header (Linux x86 boot protocol, Documentation/arch/x86/boot.rst)
/// that the loader needs, read from an untrusted file with every offset checked.
public struct BzImage: Sendable {
    public static let headerMagic: UInt32 = 0x5372_6448  // "HdrS"
    public static let minimumProtocol: UInt16 = 0x0206
    /// XLF_KERNEL_64: the kernel has the 64-bit entry point at load address + 0x200.
    public static let xloadflagKernel64: UInt16 = 1

    public let protocolVersion: UInt16
    public let setupSectors: Int
    /// The raw setup header bytes (from 0x1F1 to its declared end), copied into boot_params.
    public let setupHeader: [UInt8]
    public let loadFlags: UInt8
    public let relocatable: Bool
    public let kernelAlignment: UInt32
    public let xloadflags: UInt16
    public let initrdAddressMaximum: UInt32
    public let commandLineSize: UInt32
    public let preferredAddress: UInt64
    public let initSize: UInt32
    /// Offset of the protected-mode kernel within the file.
    public let payloadOffset: Int

    /// Parses `file`; nil when it does not look like a bzImage at all, throws when it does but is broken.
    public static func parse(_ file: [UInt8]) throws(VMMError) -> BzImage? {
        guard file.littleEndian(UInt16.self, at: 0x1FE) == 0xAA55,
            file.littleEndian(UInt32.self, at: 0x202) == headerMagic
        else { return nil }
        return try BzImage(file)
    }

    private init(_ file: [UInt8]) throws(VMMError) {
        guard let version = file.littleEndian(UInt16.self, at: 0x206), version >= Self.minimumProtocol else {
            throw .kernelFormat("bzImage boot protocol is older than 2.06 (a kernel from before 2.6.20)")
        }
        protocolVersion = version
        var sectors = Int(file[0x1F1])
        if sectors == 0 { sectors = 4 }
        setupSectors = sectors
        let headerEnd = 0x202 + Int(file[0x201])
        guard headerEnd <= file.count, headerEnd <= 0x280 else { throw .kernelFormat("bzImage setup header runs past its limit") }
        setupHeader = Array(file[0x1F1..<headerEnd])
        payloadOffset = (sectors + 1) * 512
        guard payloadOffset < file.count else {
            throw .kernelFormat("bzImage has no protected-mode kernel after its \(sectors) setup sectors")
        }
        loadFlags = file[0x211]
        guard loadFlags & 1 == 1 else { throw .kernelFormat("bzImage is not loaded high (a zImage); only bzImage is supported") }
        relocatable = file.littleEndian(UInt8.self, at: 0x234).map { $0 != 0 } ?? false
        kernelAlignment = file.littleEndian(UInt32.self, at: 0x230) ?? 0x20_0000
        initrdAddressMaximum = file.littleEndian(UInt32.self, at: 0x22C) ?? 0x37FF_FFFF
        xloadflags = version >= 0x020C ? (file.littleEndian(UInt16.self, at: 0x236) ?? 0) : 0
        commandLineSize = version >= 0x0206 ? (file.littleEndian(UInt32.self, at: 0x238) ?? 255) : 255
        preferredAddress = version >= 0x020A ? (file.littleEndian(UInt64.self, at: 0x258) ?? 0x100000) : 0x100000
        initSize = version >= 0x020A ? (file.littleEndian(UInt32.self, at: 0x260) ?? 0) : 0
        guard xloadflags & Self.xloadflagKernel64 != 0 else {
            throw .kernelFormat("bzImage has no 64-bit entry point (XLF_KERNEL_64 unset): it is a 32-bit kernel")
        }
    }

    /// Where the protected-mode kernel goes: 1 MiB when it can relocate, else its preferred address.
    public var loadAddress: UInt64 { relocatable ? GuestLayout.kernelLoadAddress : preferredAddress }
    /// The 64-bit entry point is 0x200 bytes into the protected-mode kernel.
    public var entry64: UInt64 { loadAddress + 0x200 }
}

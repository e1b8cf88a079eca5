/// Builds the 4 KiB "zero page" (struct boot_params) that the 64-bit Linux entry point reads:
/// the setup header from the bzImage, the command line and initrd pointers, and the e820 map.
public struct BootParams: Sendable {
    public static let size = 4096
    static let e820EntriesOffset = 0x1E8
    static let e820TableOffset = 0x2D0
    public static let e820MaximumEntries = 128
    static let extRamdiskImageOffset = 0x0C0
    static let extRamdiskSizeOffset = 0x0C4
    static let extCommandLineOffset = 0x0C8
    static let setupHeaderOffset = 0x1F1
    static let typeOfLoaderOffset = 0x210
    static let loadFlagsOffset = 0x211
    static let heapEndOffset = 0x224
    static let ramdiskImageOffset = 0x218
    static let ramdiskSizeOffset = 0x21C
    static let commandLinePointerOffset = 0x228
    static let commandLineSizeOffset = 0x238

    public private(set) var bytes = [UInt8](repeating: 0, count: BootParams.size)

    /// Starts from a bzImage's setup header, or a synthetic one for an ELF kernel entered at 64 bits.
    public init(setupHeader: [UInt8]?) {
        if let header = setupHeader {
            for (i, byte) in header.enumerated() where Self.setupHeaderOffset + i < 0x280 { bytes[Self.setupHeaderOffset + i] = byte }
        } else {
            bytes.setLittleEndian(UInt16(0xAA55), at: 0x1FE)
            bytes.setLittleEndian(BzImage.headerMagic, at: 0x202)
            bytes.setLittleEndian(UInt16(0x020F), at: 0x206)
            bytes.setLittleEndian(UInt32(0x0100_0000), at: 0x230)  // kernel_alignment
        }
        bytes[Self.typeOfLoaderOffset] = 0xFF  // undefined boot loader
        bytes[Self.loadFlagsOffset] |= 0x80 | 0x01  // CAN_USE_HEAP, LOADED_HIGH
        bytes.setLittleEndian(UInt16(0xFE00), at: Self.heapEndOffset)
    }

    public mutating func setCommandLine(address: UInt64, size: Int) {
        bytes.setLittleEndian(UInt32(truncatingIfNeeded: address), at: Self.commandLinePointerOffset)
        bytes.setLittleEndian(UInt32(truncatingIfNeeded: address >> 32), at: Self.extCommandLineOffset)
        bytes.setLittleEndian(UInt32(size), at: Self.commandLineSizeOffset)
    }

    public mutating func setInitrd(address: UInt64, size: UInt64) {
        bytes.setLittleEndian(UInt32(truncatingIfNeeded: address), at: Self.ramdiskImageOffset)
        bytes.setLittleEndian(UInt32(truncatingIfNeeded: address >> 32), at: Self.extRamdiskImageOffset)
        bytes.setLittleEndian(UInt32(truncatingIfNeeded: size), at: Self.ramdiskSizeOffset)
        bytes.setLittleEndian(UInt32(truncatingIfNeeded: size >> 32), at: Self.extRamdiskSizeOffset)
    }

    public mutating func setMemoryMap(_ map: [E820Entry]) throws(VMMError) {
        guard map.count <= Self.e820MaximumEntries else { throw .invalidConfiguration("e820 map has \(map.count) entries") }
        bytes[Self.e820EntriesOffset] = UInt8(map.count)
        for (i, entry) in map.enumerated() {
            for (j, byte) in entry.bytes.enumerated() { bytes[Self.e820TableOffset + i * 20 + j] = byte }
        }
    }
}

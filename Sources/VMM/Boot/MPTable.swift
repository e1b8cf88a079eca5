/// Builds an Intel MultiProcessor Specification 1.4 table (floating pointer, configuration
/// header, one processor entry per vCPU, the ISA bus, the IOAPIC and its interrupt routing) so
/// that a guest kernel without ACPI still finds `--cpus N` processors.
public enum MPTable {
    public static let ioapicPins = 24
    static let floatingPointerSize = 16
    static let headerSize = 44
    static let processorEntrySize = 20
    static let shortEntrySize = 8
    public static let lapicVersion: UInt8 = 0x14
    public static let ioapicVersion: UInt8 = 0x11

    /// Size in bytes of the table for `cpus` processors.
    public static func size(cpus: Int) -> Int {
        floatingPointerSize + headerSize + cpus * processorEntrySize + shortEntrySize * (2 + ioapicPins + 2)
    }

    /// The table bytes to place at `address` (the floating pointer first, the configuration table after it).
    public static func build(cpus: Int, at address: UInt64) throws(VMMError) -> [UInt8] {
        guard cpus >= 1, cpus <= 254 else { throw .tooManyCPUs(requested: cpus, maximum: 254) }
        var table = [UInt8](repeating: 0, count: size(cpus: cpus))
        // Floating pointer structure.
        table.setASCII("_MP_", at: 0)
        table.setLittleEndian(UInt32(address) + UInt32(floatingPointerSize), at: 4)
        table[8] = 1  // length in 16-byte paragraphs
        table[9] = 4  // spec revision 1.4
        table[10] = table.checksumByte(over: 0..<floatingPointerSize)

        // Configuration table header.
        let header = floatingPointerSize
        table.setASCII("PCMP", at: header)
        table[header + 6] = 4
        table.setASCII("SKIFF   ", at: header + 8)
        table.setASCII("MICROVM     ", at: header + 16)
        table.setLittleEndian(UInt32(GuestLayout.lapicAddress), at: header + 36)
        var offset = header + headerSize
        var entries: UInt16 = 0

        for cpu in 0..<cpus {
            table[offset] = 0  // processor
            table[offset + 1] = UInt8(cpu)  // local APIC id
            table[offset + 2] = lapicVersion
            table[offset + 3] = 1 | (cpu == 0 ? 2 : 0)  // enabled, bootstrap processor
            table.setLittleEndian(UInt32(0x600), at: offset + 4)  // family 6 signature
            table.setLittleEndian(UInt32(0x201), at: offset + 8)  // FPU and APIC present
            offset += processorEntrySize
            entries += 1
        }
        // The ISA bus.
        table[offset] = 1
        table.setASCII("ISA   ", at: offset + 2)
        offset += shortEntrySize
        entries += 1
        // The IOAPIC, with the id after the processors'.
        let ioapicID = UInt8(cpus + 1)
        table[offset] = 2
        table[offset + 1] = ioapicID
        table[offset + 2] = ioapicVersion
        table[offset + 3] = 1
        table.setLittleEndian(UInt32(GuestLayout.ioapicAddress), at: offset + 4)
        offset += shortEntrySize
        entries += 1
        // Each ISA IRQ routed to the same IOAPIC pin.
        for pin in 0..<ioapicPins {
            table[offset] = 3
            table[offset + 1] = 0  // INT
            table[offset + 4] = 0  // bus 0
            table[offset + 5] = UInt8(pin)
            table[offset + 6] = ioapicID
            table[offset + 7] = UInt8(pin)
            offset += shortEntrySize
            entries += 1
        }
        // Local interrupts: ExtINT on LINT0, NMI on LINT1, to all local APICs.
        for (kind, lint) in [(UInt8(3), UInt8(0)), (UInt8(1), UInt8(1))] {
            table[offset] = 4
            table[offset + 1] = kind
            table[offset + 6] = 0xFF
            table[offset + 7] = lint
            offset += shortEntrySize
            entries += 1
        }
        let configLength = offset - header
        table.setLittleEndian(UInt16(configLength), at: header + 4)
        table.setLittleEndian(entries, at: header + 34)
        table[header + 7] = table.checksumByte(over: header..<offset)
        return table
    }
}

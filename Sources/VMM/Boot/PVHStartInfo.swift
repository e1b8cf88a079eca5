/// Builds the PVH boot protocol's hvm_start_info, its module list (the initrd) and memory map,
/// which a kernel entered at its XEN_ELFNOTE_PHYS32_ENTRY finds through %ebx.
public enum PVHStartInfo {
    public static let magic: UInt32 = 0x336E_C578
    public static let startInfoSize = 56
    public static let memoryMapEntrySize = 24
    public static let moduleEntrySize = 32

    /// The start_info structure itself.
    public static func startInfo(commandLine: UInt64, moduleList: UInt64?, moduleCount: UInt32, memoryMap: UInt64, memoryMapEntries: UInt32)
        -> [UInt8]
    {
        var out = [UInt8](repeating: 0, count: startInfoSize)
        out.setLittleEndian(magic, at: 0)
        out.setLittleEndian(UInt32(1), at: 4)  // version 1: has the memory map fields
        out.setLittleEndian(moduleCount, at: 12)
        out.setLittleEndian(moduleList ?? 0, at: 16)
        out.setLittleEndian(commandLine, at: 24)
        out.setLittleEndian(UInt64(0), at: 32)  // rsdp_paddr: none, the MP table describes CPUs
        out.setLittleEndian(memoryMap, at: 40)
        out.setLittleEndian(memoryMapEntries, at: 48)
        return out
    }

    /// The memory map in hvm_memmap_table_entry form (same kinds as e820).
    public static func memoryMap(_ map: [E820Entry]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: map.count * memoryMapEntrySize)
        for (i, entry) in map.enumerated() {
            out.setLittleEndian(entry.address, at: i * memoryMapEntrySize)
            out.setLittleEndian(entry.size, at: i * memoryMapEntrySize + 8)
            out.setLittleEndian(entry.kind.rawValue, at: i * memoryMapEntrySize + 16)
        }
        return out
    }

    /// One hvm_modlist_entry describing the initrd.
    public static func module(address: UInt64, size: UInt64) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: moduleEntrySize)
        out.setLittleEndian(address, at: 0)
        out.setLittleEndian(size, at: 8)
        return out
    }
}

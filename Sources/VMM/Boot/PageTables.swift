/// Identity page tables for the 64-bit entry: one PML4 entry, four PDPT entries and four page
/// directories of 2 MiB pages, mapping guest-physical 0...4 GiB (RAM and the MMIO hole) 1:1.
public enum IdentityPageTables {
    public static let present: UInt64 = 1
    public static let writable: UInt64 = 2
    public static let largePage: UInt64 = 0x80
    public static let mappedBytes: UInt64 = 4 << 30

    /// The (address, 4 KiB page) pairs to write into guest memory.
    public static func build() -> [(address: UInt64, page: [UInt8])] {
        var pml4 = [UInt8](repeating: 0, count: 4096)
        pml4.setLittleEndian(GuestLayout.pdptAddress | present | writable, at: 0)
        var pdpt = [UInt8](repeating: 0, count: 4096)
        var pages: [(UInt64, [UInt8])] = [(GuestLayout.pml4Address, pml4)]
        for gib in 0..<4 {
            let directoryAddress = GuestLayout.pageDirectoryAddress + UInt64(gib) * 0x1000
            pdpt.setLittleEndian(directoryAddress | present | writable, at: gib * 8)
            var directory = [UInt8](repeating: 0, count: 4096)
            for entry in 0..<512 {
                let physical = (UInt64(gib) << 30) | (UInt64(entry) << 21)
                directory.setLittleEndian(physical | present | writable | largePage, at: entry * 8)
            }
            pages.append((directoryAddress, directory))
        }
        pages.insert((GuestLayout.pdptAddress, pdpt), at: 1)
        return pages.map { (address: $0.0, page: $0.1) }
    }

    /// Walks the tables as the MMU would, for tests: the physical address `virtual` maps to, or nil.
    public static func translate(_ virtual: UInt64, read: (UInt64) -> UInt64?) -> UInt64? {
        guard let pml4e = read(GuestLayout.pml4Address + ((virtual >> 39) & 0x1FF) * 8), pml4e & present != 0 else { return nil }
        guard let pdpte = read((pml4e & ~0xFFF) + ((virtual >> 30) & 0x1FF) * 8), pdpte & present != 0 else { return nil }
        guard let pde = read((pdpte & 0x000F_FFFF_FFFF_F000) + ((virtual >> 21) & 0x1FF) * 8), pde & present != 0, pde & largePage != 0
        else { return nil }
        return (pde & 0x000F_FFFF_FFE0_0000) | (virtual & 0x1F_FFFF)
    }
}

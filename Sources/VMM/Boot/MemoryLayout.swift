/// Where the monitor puts each boot structure in guest-physical memory. One table so that the
/// loader, the tests and the e820 map agree (the layout follows the Linux x86 boot protocol and
/// the addresses Firecracker uses).
public enum GuestLayout {
    public static let gdtAddress: UInt64 = 0x500
    public static let idtAddress: UInt64 = 0x520
    public static let pvhStartInfoAddress: UInt64 = 0x6000
    public static let pvhModuleListAddress: UInt64 = 0x6040
    public static let pvhMemoryMapAddress: UInt64 = 0x6100
    public static let zeroPageAddress: UInt64 = 0x7000
    public static let bootStackPointer: UInt64 = 0x8FF0
    public static let pml4Address: UInt64 = 0x9000
    public static let pdptAddress: UInt64 = 0xA000
    /// Four page directories (0xB000...0xEFFF) map the first 4 GiB with 2 MiB pages.
    public static let pageDirectoryAddress: UInt64 = 0xB000
    public static let commandLineAddress: UInt64 = 0x20000
    public static let commandLineMaximum = 0x10000
    /// Extended BIOS data area: the MP table lives here and e820 marks it reserved.
    public static let ebdaStart: UInt64 = 0x9FC00
    public static let highMemoryStart: UInt64 = 0x10_0000
    /// Kernels are loaded at 1 MiB unless they ask for (and cannot move from) another address.
    public static let kernelLoadAddress: UInt64 = 0x10_0000
    /// First virtio-mmio device window; each device takes 4 KiB and its own IOAPIC pin.
    public static let virtioMMIOBase: UInt64 = 0xD000_0000
    public static let virtioMMIOSize: UInt64 = 0x1000
    public static let virtioFirstIRQ: UInt32 = 5
    public static let virtioMaximumDevices = 18
    public static let ioapicAddress: UInt64 = 0xFEC0_0000
    public static let lapicAddress: UInt64 = 0xFEE0_0000
    /// KVM needs three pages for the real-mode TSS and one for the EPT identity map.
    public static let tssAddress: UInt64 = 0xFFFB_D000
    public static let identityMapAddress: UInt64 = 0xFFFB_C000
}

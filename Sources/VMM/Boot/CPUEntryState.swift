/// The register state a boot protocol requires at the kernel's first instruction, independent
/// of KVM so it can be checked in tests; VirtualCPU turns it into KVM_SET_SREGS/REGS.
public struct CPUEntryState: Equatable, Sendable {
    public enum Mode: Equatable, Sendable { case long64, protected32 }

    public static let cr0ProtectionEnable: UInt64 = 1
    public static let cr0ExtensionType: UInt64 = 0x10
    public static let cr0Paging: UInt64 = 1 << 31
    public static let cr4PAE: UInt64 = 1 << 5
    public static let eferLME: UInt64 = 1 << 8
    public static let eferLMA: UInt64 = 1 << 10

    public var mode: Mode
    public var rip: UInt64
    public var rsp: UInt64
    public var rsi: UInt64
    public var rbx: UInt64
    public var rflags: UInt64 = 2
    public var cr0: UInt64
    public var cr3: UInt64
    public var cr4: UInt64
    public var efer: UInt64
    public var gdt: GlobalDescriptorTable
    public var gdtBase: UInt64 = GuestLayout.gdtAddress
    public var idtBase: UInt64 = GuestLayout.idtAddress

    public static func == (a: CPUEntryState, b: CPUEntryState) -> Bool {
        a.mode == b.mode && a.rip == b.rip && a.rsp == b.rsp && a.rsi == b.rsi && a.rbx == b.rbx && a.cr0 == b.cr0
            && a.cr3 == b.cr3 && a.cr4 == b.cr4 && a.efer == b.efer && a.gdt.segments == b.gdt.segments
    }

    /// Linux's 64-bit boot protocol: long mode, identity paging, __BOOT_CS/DS, %rsi = boot_params.
    public static func linux64(entry: UInt64, bootParams: UInt64) -> CPUEntryState {
        CPUEntryState(
            mode: .long64, rip: entry, rsp: GuestLayout.bootStackPointer, rsi: bootParams, rbx: 0,
            cr0: cr0ProtectionEnable | cr0ExtensionType | cr0Paging, cr3: GuestLayout.pml4Address,
            cr4: cr4PAE, efer: eferLME | eferLMA, gdt: .linux64())
    }

    /// The PVH boot protocol: 32-bit protected mode, paging off, %ebx = hvm_start_info.
    public static func pvh(entry: UInt32, startInfo: UInt64) -> CPUEntryState {
        CPUEntryState(
            mode: .protected32, rip: UInt64(entry), rsp: 0, rsi: 0, rbx: startInfo,
            cr0: cr0ProtectionEnable | cr0ExtensionType, cr3: 0, cr4: 0, efer: 0, gdt: .pvh32())
    }
}

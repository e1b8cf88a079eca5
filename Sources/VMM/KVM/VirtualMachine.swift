#if canImport(Glibc)
import Glibc
#endif
import CShim

/// Which interrupt controllers KVM emulates in the kernel for a VM.
public enum InterruptControllerMode: String, Sendable, CaseIterable {
    /// Local APICs in the kernel; the IOAPIC in the monitor (`IOAPIC`), no PIC and no PIT. The
    /// default: a VM starts and ends without the kernel's PIC/IOAPIC/PIT set-up and teardown.
    /// Linux guests time with the TSC-deadline local APIC timer and kvm-clock (CONFIG_KVM_GUEST).
    case split
    /// PIC, IOAPIC, local APICs and the PIT all in the kernel (what Firecracker creates), for
    /// guests that need an 8254 PIT or 8259 PIC.
    case kernel
}

/// One KVM virtual machine: its guest memory slots, the interrupt controllers KVM emulates
/// (see `InterruptControllerMode`), interrupt lines, and the ioeventfd/irqfd registrations devices use.
/// Unchecked Sendable: the VM descriptor and settings are immutable after init, and KVM's VM ioctls
/// (MSIs, IRQ lines, irqfd/ioeventfd) may be issued from any thread.
public final class VirtualMachine: @unchecked Sendable {
    public let kvm: KVMSystem
    let fd: Int32
    public let memory: GuestMemory
    public let interruptController: InterruptControllerMode
    public let hasIoeventfd: Bool
    /// irqfd injects into the in-kernel IOAPIC; with the split irqchip the monitor's IOAPIC
    /// signals MSIs itself, so lines do not use it.
    public let hasIrqfd: Bool

    public init(kvm: KVMSystem, memory: GuestMemory, interruptController: InterruptControllerMode = .split) throws(VMMError) {
        self.kvm = kvm
        self.memory = memory
        let fd = skiff_kvm_create_vm(kvm.fd)
        guard fd >= 0 else { throw .kvmCall("KVM_CREATE_VM", errno: errno) }
        self.fd = fd
        self.interruptController = interruptController
        hasIoeventfd = kvm.has(SKIFF_KVM_CAP_IOEVENTFD)
        hasIrqfd = interruptController == .kernel && kvm.has(SKIFF_KVM_CAP_IRQFD)
        do throws(VMMError) {
            try check(skiff_kvm_set_tss_addr(fd, GuestLayout.tssAddress), "KVM_SET_TSS_ADDR")
            try check(skiff_kvm_set_identity_map_addr(fd, GuestLayout.identityMapAddress), "KVM_SET_IDENTITY_MAP_ADDR")
            switch interruptController {
            case .split:
                guard kvm.has(capability: skiff_kvm_cap_split_irqchip()), kvm.has(capability: skiff_kvm_cap_signal_msi()) else {
                    throw VMMError.kvmCapabilityMissing("KVM_CAP_SPLIT_IRQCHIP and KVM_CAP_SIGNAL_MSI (use --irqchip kernel)")
                }
                try check(skiff_kvm_enable_split_irqchip(fd, UInt32(IOAPIC.pins)), "KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP)")
            case .kernel:
                try check(skiff_kvm_create_irqchip(fd), "KVM_CREATE_IRQCHIP")
                if kvm.has(SKIFF_KVM_CAP_PIT2) { try check(skiff_kvm_create_pit2(fd), "KVM_CREATE_PIT2") }
            }
            for (slot, region) in memory.regions.enumerated() {
                try check(
                    skiff_kvm_set_user_memory_region(fd, UInt32(slot), region.guestBase, region.size, memory.hostAddress(of: region)),
                    "KVM_SET_USER_MEMORY_REGION")
            }
        } catch {
            close(fd)
            throw error
        }
    }

    deinit { close(fd) }

    /// Delivers a message-signalled interrupt to the in-kernel local APICs (split irqchip).
    /// Returns false when KVM refused it; a guest that masked its APIC gets nothing, as on hardware.
    @discardableResult
    public func signalMSI(_ message: MSIMessage) -> Bool {
        skiff_kvm_signal_msi(
            fd, UInt32(truncatingIfNeeded: message.address), UInt32(truncatingIfNeeded: message.address >> 32), message.data) >= 0
    }

    /// Pulses (edge) or sets an in-kernel IOAPIC/PIC input line (`.kernel` mode only).
    public func setIRQLine(_ irq: UInt32, level: Bool) {
        _ = skiff_kvm_irq_line(fd, irq, level ? 1 : 0)
    }

    /// Binds an eventfd to a GSI so a write to it injects the interrupt without a monitor exit.
    public func registerIrqfd(_ eventFD: Int32, gsi: UInt32) throws(VMMError) {
        try check(skiff_kvm_irqfd(fd, eventFD, gsi, 0), "KVM_IRQFD")
    }

    public func unregisterIrqfd(_ eventFD: Int32, gsi: UInt32) {
        _ = skiff_kvm_irqfd(fd, eventFD, gsi, 1)
    }

    /// Makes a 4-byte guest write of `value` at `address` signal `eventFD` instead of exiting.
    public func registerIoeventfd(_ eventFD: Int32, address: UInt64, value: UInt32) throws(VMMError) {
        try check(skiff_kvm_ioeventfd_mmio(fd, eventFD, address, 4, UInt64(value), 0), "KVM_IOEVENTFD")
    }

    public func unregisterIoeventfd(_ eventFD: Int32, address: UInt64, value: UInt32) {
        _ = skiff_kvm_ioeventfd_mmio(fd, eventFD, address, 4, UInt64(value), 1)
    }

    func createVCPUDescriptor(id: Int) throws(VMMError) -> Int32 {
        let vcpu = skiff_kvm_create_vcpu(fd, UInt(id))
        guard vcpu >= 0 else { throw .kvmCall("KVM_CREATE_VCPU \(id)", errno: errno) }
        return vcpu
    }
}

@inline(__always)
func check(_ rc: Int32, _ what: String) throws(VMMError) {
    if rc < 0 { throw .kvmCall(what, errno: errno) }
}

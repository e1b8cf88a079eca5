#if canImport(Glibc)
import Glibc
#endif
import CShim

/// One KVM virtual machine: its guest memory slots, the in-kernel irqchip (PIC, IOAPIC, LAPICs)
/// and PIT, interrupt lines, and the ioeventfd/irqfd registrations devices use.
public final class VirtualMachine: @unchecked Sendable {
    public let kvm: KVMSystem
    let fd: Int32
    public let memory: GuestMemory
    public let hasIoeventfd: Bool
    public let hasIrqfd: Bool

    public init(kvm: KVMSystem, memory: GuestMemory) throws(VMMError) {
        self.kvm = kvm
        self.memory = memory
        let fd = skiff_kvm_create_vm(kvm.fd)
        guard fd >= 0 else { throw .kvmCall("KVM_CREATE_VM", errno: errno) }
        self.fd = fd
        hasIoeventfd = kvm.has(SKIFF_KVM_CAP_IOEVENTFD)
        hasIrqfd = kvm.has(SKIFF_KVM_CAP_IRQFD)
        do {
            try check(skiff_kvm_set_tss_addr(fd, GuestLayout.tssAddress), "KVM_SET_TSS_ADDR")
            try check(skiff_kvm_set_identity_map_addr(fd, GuestLayout.identityMapAddress), "KVM_SET_IDENTITY_MAP_ADDR")
            try check(skiff_kvm_create_irqchip(fd), "KVM_CREATE_IRQCHIP")
            if kvm.has(SKIFF_KVM_CAP_PIT2) { try check(skiff_kvm_create_pit2(fd), "KVM_CREATE_PIT2") }
            for (slot, region) in memory.regions.enumerated() {
                try check(skiff_kvm_set_user_memory_region(fd, UInt32(slot), region.guestBase, region.size, memory.hostAddress(of: region)),
                          "KVM_SET_USER_MEMORY_REGION")
            }
        } catch {
            close(fd)
            throw error
        }
    }

    deinit { close(fd) }

    /// Pulses (edge) or sets an IOAPIC/PIC input line.
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

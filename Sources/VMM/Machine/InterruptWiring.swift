/// Sends the monitor IOAPIC's interrupts to the guest's in-kernel local APICs (KVM_SIGNAL_MSI).
final class KVMMSIDelivery: MSIDelivery, Sendable {
    let vm: VirtualMachine
    init(vm: VirtualMachine) { self.vm = vm }
    func deliver(_ message: MSIMessage) { vm.signalMSI(message) }
}

/// How the machine's devices reach the guest's interrupt controller: through the monitor's IOAPIC
/// (split irqchip), or through irqfd/KVM_IRQ_LINE into the in-kernel IOAPIC and PIC.
enum InterruptWiring {
    case split(IOAPIC)
    case kernel(VirtualMachine)

    init(vm: VirtualMachine, cpus: Int) {
        switch vm.interruptController {
        case .split:
            // The id the MP table gives the IOAPIC: the one after the processors'.
            self = .split(IOAPIC(id: UInt8(truncatingIfNeeded: cpus + 1), delivery: KVMMSIDelivery(vm: vm)))
        case .kernel:
            self = .kernel(vm)
        }
    }

    /// A line for the device on IOAPIC pin (GSI) `gsi`.
    func line(gsi: UInt32) -> any InterruptLine {
        switch self {
        case .split(let ioapic): return IOAPICInterruptLine(ioapic: ioapic, pin: Int(gsi))
        case .kernel(let vm): return KVMInterruptLine(vm: vm, gsi: gsi)
        }
    }

    /// The MMIO range the monitor must serve for the interrupt controller, if any.
    var mmioRanges: [AddressBus.Range] {
        switch self {
        case .split(let ioapic): return [AddressBus.Range(base: GuestLayout.ioapicAddress, length: 0x1000, device: ioapic)]
        case .kernel: return []
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
import CShim

/// An interrupt line into the in-kernel IOAPIC: an irqfd when KVM offers it (a write to the eventfd
/// injects the edge without leaving the kernel), else an edge made from two KVM_IRQ_LINE calls.
public final class KVMInterruptLine: InterruptLine, Sendable {
    let vm: VirtualMachine
    public let gsi: UInt32
    let eventFD: Int32

    public init(vm: VirtualMachine, gsi: UInt32) {
        self.vm = vm
        self.gsi = gsi
        var fd: Int32 = -1
        if vm.hasIrqfd {
            fd = skiff_eventfd(0)
            if fd >= 0, (try? vm.registerIrqfd(fd, gsi: gsi)) == nil {
                close(fd)
                fd = -1
            }
        }
        eventFD = fd
    }

    deinit {
        if eventFD >= 0 {
            vm.unregisterIrqfd(eventFD, gsi: gsi)
            close(eventFD)
        }
    }

    public var usesIrqfd: Bool { eventFD >= 0 }

    public func trigger() {
        if eventFD >= 0 {
            var one: UInt64 = 1
            _ = Glibc.write(eventFD, &one, 8)
        } else {
            vm.setIRQLine(gsi, level: true)
            vm.setIRQLine(gsi, level: false)
        }
    }
}

import Synchronization

/// Where an interrupt controller in the monitor sends its interrupts: message-signalled
/// interrupts to the local APICs (KVM_SIGNAL_MSI on a real machine, a recorder in tests).
public protocol MSIDelivery: AnyObject, Sendable {
    func deliver(_ message: MSIMessage)
}

/// One message-signalled interrupt as the local APICs decode it (Intel SDM vol. 3, 11.11).
public struct MSIMessage: Equatable, Sendable {
    public let address: UInt64
    public let data: UInt32
    public init(address: UInt64, data: UInt32) {
        self.address = address
        self.data = data
    }
}

/// The IOAPIC (an 82093AA, version 0x11, 24 pins) emulated in the monitor, for the split irqchip:
/// the local APICs stay in the kernel, and this model turns each device's interrupt edge into an
/// MSI with the vector, destination and delivery mode the guest programmed in the pin's
/// redirection entry. Having no in-kernel PIC, IOAPIC or PIT spares the kernel's interrupt
/// routing and I/O-bus set-up and teardown, which cost a VM tens of milliseconds to start and end.
///
/// Every interrupt source of the monitor is an edge (a pulse), as it was through irqfd into the
/// in-kernel IOAPIC; entries programmed level-triggered are served the same way, without a remote
/// IRR to wait for an EOI. An edge on a masked pin is held and delivered when the guest unmasks it,
/// as KVM's IOAPIC does, so a device that interrupts before its driver unmasks loses nothing.
public final class IOAPIC: BusDevice, Sendable {
    public static let pins = 24
    public static let version: UInt32 = 0x11
    /// Offsets in the 4 KiB MMIO window.
    public static let registerSelectOffset: UInt64 = 0x00
    public static let registerWindowOffset: UInt64 = 0x10
    /// Indirect register numbers.
    static let idRegister: UInt32 = 0x00
    static let versionRegister: UInt32 = 0x01
    static let arbitrationRegister: UInt32 = 0x02
    static let firstRedirectionRegister: UInt32 = 0x10

    static let maskBit: UInt64 = 1 << 16
    /// Delivery status (12) and remote IRR (14) are read-only and always clear here.
    static let readOnlyBits: UInt64 = (1 << 12) | (1 << 14)
    static let deliveryModeExtINT: UInt64 = 7

    struct State {
        var select: UInt32 = 0
        var id: UInt32
        var redirection = [UInt64](repeating: IOAPIC.maskBit, count: IOAPIC.pins)
        var heldEdges: UInt32 = 0
    }

    private let state: Mutex<State>
    private let delivery: any MSIDelivery

    /// `id` is the IOAPIC id the MP table announces.
    public init(id: UInt8, delivery: any MSIDelivery) {
        state = Mutex(State(id: UInt32(id & 0x0F)))
        self.delivery = delivery
    }

    /// One edge on `pin` (a device interrupt). Pins outside 0..<24 are ignored.
    public func pulse(pin: Int) {
        guard pin >= 0, pin < Self.pins else { return }
        let message: MSIMessage? = state.withLock { s in
            if s.redirection[pin] & Self.maskBit != 0 {
                s.heldEdges |= 1 << UInt32(pin)
                return nil
            }
            return Self.message(for: s.redirection[pin])
        }
        if let message { delivery.deliver(message) }
    }

    /// The MSI an unmasked redirection entry produces, or nil for ExtINT (there is no PIC to ask).
    static func message(for entry: UInt64) -> MSIMessage? {
        let vector = UInt32(entry & 0xFF)
        let deliveryMode = (entry >> 8) & 0x7
        guard deliveryMode != deliveryModeExtINT else { return nil }
        let logical = (entry >> 11) & 1
        let destination = (entry >> 56) & 0xFF
        let address = 0xFEE0_0000 | (destination << 12) | (logical << 2)
        // Always edge (bit 15 clear): see the type's comment on level-triggered entries.
        return MSIMessage(address: address, data: vector | UInt32(deliveryMode << 8))
    }

    public func read(offset: UInt64, into data: UnsafeMutableRawBufferPointer) {
        let aligned = offset & ~3
        let value: UInt32 = state.withLock { s in
            switch aligned {
            case Self.registerSelectOffset: return s.select
            case Self.registerWindowOffset: return Self.readRegister(s)
            default: return 0
            }
        }
        let shift = UInt32(offset & 3) * 8
        for i in 0..<data.count {
            let bit = shift + UInt32(i) * 8
            data[i] = bit < 32 ? UInt8(truncatingIfNeeded: value >> bit) : 0
        }
    }

    public func write(offset: UInt64, from data: UnsafeRawBufferPointer) {
        guard !data.isEmpty else { return }
        var value: UInt32 = 0
        for i in 0..<min(4, data.count) { value |= UInt32(data[i]) << (8 * UInt32(i)) }
        var released: [MSIMessage] = []
        state.withLock { s in
            switch offset {
            case Self.registerSelectOffset:
                s.select = value & 0xFF
            case Self.registerWindowOffset where data.count == 4:
                released = Self.writeRegister(&s, value)
            default:
                break  // partial window writes and other offsets do nothing on an 82093AA either
            }
        }
        for message in released { delivery.deliver(message) }
    }

    static func readRegister(_ s: State) -> UInt32 {
        switch s.select {
        case idRegister, arbitrationRegister: return s.id << 24
        case versionRegister: return version | (UInt32(pins - 1) << 16)
        case firstRedirectionRegister..<(firstRedirectionRegister + UInt32(2 * pins)):
            let index = Int(s.select - firstRedirectionRegister)
            let entry = s.redirection[index / 2]
            return index % 2 == 0 ? UInt32(truncatingIfNeeded: entry) : UInt32(truncatingIfNeeded: entry >> 32)
        default: return 0
        }
    }

    /// Applies a window write; returns the edges an unmask released.
    static func writeRegister(_ s: inout State, _ value: UInt32) -> [MSIMessage] {
        switch s.select {
        case idRegister:
            s.id = (value >> 24) & 0x0F
        case firstRedirectionRegister..<(firstRedirectionRegister + UInt32(2 * pins)):
            let index = Int(s.select - firstRedirectionRegister)
            let pin = index / 2
            var entry = s.redirection[pin]
            if index % 2 == 0 {
                let low = UInt64(value) & ~readOnlyBits
                entry = (entry & 0xFFFF_FFFF_0000_0000) | low
            } else {
                entry = (entry & 0xFFFF_FFFF) | (UInt64(value) << 32)
            }
            s.redirection[pin] = entry
            let bit = UInt32(1) << UInt32(pin)
            if entry & maskBit == 0, s.heldEdges & bit != 0 {
                s.heldEdges &= ~bit
                if let message = message(for: entry) { return [message] }
            }
        default:
            break  // version and arbitration registers are read-only
        }
        return []
    }
}

/// A device's interrupt line wired to one pin of the monitor's IOAPIC.
public final class IOAPICInterruptLine: InterruptLine, Sendable {
    public let ioapic: IOAPIC
    public let pin: Int

    public init(ioapic: IOAPIC, pin: Int) {
        self.ioapic = ioapic
        self.pin = pin
    }

    public func trigger() { ioapic.pulse(pin: pin) }
}

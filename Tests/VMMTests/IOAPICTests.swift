import Synchronization
import Testing
@testable import VMM

/// Records the MSIs the IOAPIC model sends, in order.
final class RecordingMSIDelivery: MSIDelivery, Sendable {
    let messages = Mutex<[MSIMessage]>([])
    func deliver(_ message: MSIMessage) { messages.withLock { $0.append(message) } }
    var all: [MSIMessage] { messages.withLock { $0 } }
}

extension IOAPIC {
    /// A 32-bit access the way Linux's io_apic_read/io_apic_write make it: select, then window.
    func writeRegister(_ index: UInt32, _ value: UInt32) {
        withUnsafeBytes(of: index.littleEndian) { write(offset: IOAPIC.registerSelectOffset, from: $0) }
        withUnsafeBytes(of: value.littleEndian) { write(offset: IOAPIC.registerWindowOffset, from: $0) }
    }
    func readRegister(_ index: UInt32) -> UInt32 {
        withUnsafeBytes(of: index.littleEndian) { write(offset: IOAPIC.registerSelectOffset, from: $0) }
        var value: UInt32 = 0
        withUnsafeMutableBytes(of: &value) { read(offset: IOAPIC.registerWindowOffset, into: $0) }
        return UInt32(littleEndian: value)
    }
    func program(pin: Int, low: UInt32, destination: UInt8 = 0) {
        writeRegister(0x11 + UInt32(2 * pin), UInt32(destination) << 24)
        writeRegister(0x10 + UInt32(2 * pin), low)
    }
}

@Suite struct IOAPICTests {
    @Test func identifiesAsA24PinVersion11IOAPICWithTheMPTableID() {
        let ioapic = IOAPIC(id: 3, delivery: RecordingMSIDelivery())
        #expect(ioapic.readRegister(0x00) == 3 << 24)
        #expect(ioapic.readRegister(0x01) == 0x0017_0011, "max redirection entry 23, version 0x11 (as MPTable.ioapicVersion)")
        #expect(UInt8(ioapic.readRegister(0x01) & 0xFF) == MPTable.ioapicVersion)
        #expect(ioapic.readRegister(0x02) == 3 << 24)
        ioapic.writeRegister(0x00, 5 << 24)
        #expect(ioapic.readRegister(0x00) == 5 << 24)
        ioapic.writeRegister(0x01, 0xFFFF_FFFF)
        #expect(ioapic.readRegister(0x01) == 0x0017_0011, "the version register is read-only")
    }

    @Test func pinsStartMaskedAndAMaskedEdgeWaitsForTheUnmask() {
        let msi = RecordingMSIDelivery()
        let ioapic = IOAPIC(id: 2, delivery: msi)
        for pin in 0..<IOAPIC.pins {
            #expect(ioapic.readRegister(0x10 + UInt32(2 * pin)) == 1 << 16)
            #expect(ioapic.readRegister(0x11 + UInt32(2 * pin)) == 0)
        }
        ioapic.pulse(pin: 4)
        ioapic.pulse(pin: 4)
        #expect(msi.all.isEmpty)
        ioapic.program(pin: 4, low: 0x34, destination: 1)
        #expect(msi.all == [MSIMessage(address: 0xFEE0_1000, data: 0x34)], "held edges collapse into one, like an IRR bit")
        ioapic.pulse(pin: 4)
        #expect(msi.all.count == 2)
    }

    @Test func redirectionEntriesBecomeMSIs() {
        let msi = RecordingMSIDelivery()
        let ioapic = IOAPIC(id: 2, delivery: msi)
        // Fixed delivery, physical destination 3, vector 0x41.
        ioapic.program(pin: 5, low: 0x41, destination: 3)
        ioapic.pulse(pin: 5)
        // Lowest priority (1), logical destination mode, level-triggered, active low, vector 0x52.
        ioapic.program(pin: 6, low: 0x52 | (1 << 8) | (1 << 11) | (1 << 13) | (1 << 15), destination: 0x0F)
        ioapic.pulse(pin: 6)
        // NMI (4).
        ioapic.program(pin: 7, low: 0x02 | (4 << 8), destination: 0)
        ioapic.pulse(pin: 7)
        #expect(
            msi.all == [
                MSIMessage(address: 0xFEE0_3000, data: 0x41),
                MSIMessage(address: 0xFEE0_F004, data: 0x152),  // sent as an edge: no remote IRR is kept
                MSIMessage(address: 0xFEE0_0000, data: 0x402),
            ])
        #expect(ioapic.readRegister(0x10 + 12) & (1 << 15) != 0, "the trigger mode the guest wrote reads back")
    }

    @Test func maskedPinsExtINTAndPinsOutOfRangeDeliverNothing() {
        let msi = RecordingMSIDelivery()
        let ioapic = IOAPIC(id: 2, delivery: msi)
        ioapic.program(pin: 1, low: 0x30 | (1 << 16))
        ioapic.pulse(pin: 1)
        ioapic.program(pin: 2, low: 0x30 | (7 << 8))  // ExtINT: there is no PIC
        ioapic.pulse(pin: 2)
        ioapic.pulse(pin: -1)
        ioapic.pulse(pin: 24)
        ioapic.pulse(pin: Int.max)
        #expect(msi.all.isEmpty)
    }

    @Test func readOnlyStatusBitsStayClearAndOddAccessesAreHarmless() {
        let msi = RecordingMSIDelivery()
        let ioapic = IOAPIC(id: 2, delivery: msi)
        ioapic.program(pin: 9, low: 0x30 | (1 << 12) | (1 << 14) | (1 << 16))
        #expect(ioapic.readRegister(0x10 + 18) == 0x30 | (1 << 16), "delivery status and remote IRR cannot be set")
        // Selecting registers that do not exist reads 0 and ignores writes.
        ioapic.writeRegister(0x03, 0xFFFF_FFFF)
        #expect(ioapic.readRegister(0x03) == 0)
        ioapic.writeRegister(0xFF, 0xFFFF_FFFF)
        #expect(ioapic.readRegister(0xFF) == 0)
        // A 1-byte window write does nothing; byte reads see the selected register's bytes.
        withUnsafeBytes(of: UInt8(0)) { ioapic.write(offset: IOAPIC.registerWindowOffset, from: $0) }
        ioapic.writeRegister(0x10 + 18, 0x30 | (1 << 16))
        withUnsafeBytes(of: UInt8(0x10 + 18)) { ioapic.write(offset: IOAPIC.registerSelectOffset, from: $0) }
        withUnsafeBytes(of: UInt8(0x00)) { ioapic.write(offset: IOAPIC.registerWindowOffset, from: $0) }
        #expect(ioapic.readByte(IOAPIC.registerWindowOffset) == 0x30)
        #expect(ioapic.readByte(IOAPIC.registerWindowOffset + 2) == 0x01)
        #expect(ioapic.readByte(0x40) == 0)
        var wide = [UInt8](repeating: 0xAA, count: 8)
        wide.withUnsafeMutableBytes { ioapic.read(offset: IOAPIC.registerWindowOffset, into: $0) }
        #expect(wide == [0x30, 0x00, 0x01, 0x00, 0, 0, 0, 0])
        withUnsafeBytes(of: UInt32(0)) { ioapic.write(offset: 0x40, from: $0) }  // EOI register of 0x20 parts: ignored
        #expect(msi.all.isEmpty)
    }

    @Test func aLineTriggersItsPin() {
        let msi = RecordingMSIDelivery()
        let ioapic = IOAPIC(id: 2, delivery: msi)
        ioapic.program(pin: Int(Serial16550.irq), low: 0x24)
        let line = IOAPICInterruptLine(ioapic: ioapic, pin: Int(Serial16550.irq))
        line.trigger()
        #expect(msi.all == [MSIMessage(address: 0xFEE0_0000, data: 0x24)])
    }
}

import Synchronization
import Testing
@testable import VMM

final class BufferSink: SerialSink, @unchecked Sendable {
    let bytes = Mutex<[UInt8]>([])
    func write(_ data: [UInt8]) { bytes.withLock { $0 += data } }
    var text: String { String(decoding: bytes.withLock { $0 }, as: UTF8.self) }
}

extension BusDevice {
    func readByte(_ offset: UInt64) -> UInt8 {
        var value: UInt8 = 0
        withUnsafeMutableBytes(of: &value) { read(offset: offset, into: $0) }
        return value
    }
    func writeByte(_ offset: UInt64, _ value: UInt8) {
        withUnsafeBytes(of: value) { write(offset: offset, from: $0) }
    }
}

@Suite struct Serial16550Tests {
    @Test func transmittedBytesReachTheSinkAndTheLineIsAlwaysReady() {
        let sink = BufferSink()
        let serial = Serial16550(sink: sink, interrupt: CountingInterruptLine())
        for byte in "hi\n".utf8 { serial.writeByte(0, byte) }
        #expect(sink.text == "hi\n")
        #expect(serial.readByte(5) & 0x60 == 0x60)
    }

    @Test func dlabSwitchesToTheDivisorLatch() {
        let sink = BufferSink()
        let serial = Serial16550(sink: sink, interrupt: CountingInterruptLine())
        serial.writeByte(3, 0x80)
        serial.writeByte(0, 0x01)
        serial.writeByte(1, 0x00)
        #expect(serial.readByte(0) == 0x01)
        serial.writeByte(3, 0x03)
        #expect(sink.text.isEmpty, "divisor writes are not output")
        #expect(serial.readByte(3) == 0x03)
    }

    @Test func inputIsReadFromRBRWithDataReadyAndAnInterrupt() {
        let line = CountingInterruptLine()
        let serial = Serial16550(sink: BufferSink(), interrupt: line)
        serial.writeByte(4, 0x08)  // OUT2: interrupts routed
        serial.writeByte(1, 0x01)  // receive-data interrupt
        serial.receive(Array("ab".utf8))
        #expect(line.count == 1)
        #expect(serial.readByte(5) & 1 == 1)
        #expect(serial.readByte(2) & 0x0F == 0x04)
        #expect(serial.readByte(0) == UInt8(ascii: "a"))
        #expect(serial.readByte(0) == UInt8(ascii: "b"))
        #expect(serial.readByte(5) & 1 == 0)
        #expect(serial.readByte(2) & 0x0F == 0x01)
        #expect(serial.readByte(0) == 0, "an empty receiver reads as zero")
    }

    @Test func thrEmptyInterruptIsRaisedAndClearedByReadingIIR() {
        let line = CountingInterruptLine()
        let serial = Serial16550(sink: BufferSink(), interrupt: line)
        serial.writeByte(1, 0x02)
        #expect(line.count == 1)
        #expect(serial.readByte(2) & 0x0F == 0x02)
        #expect(serial.readByte(2) & 0x0F == 0x01)
        serial.writeByte(0, 0x41)
        #expect(line.count == 2)
    }

    @Test func loopbackModeEchoesAndMirrorsModemLines() {
        let sink = BufferSink()
        let serial = Serial16550(sink: sink, interrupt: CountingInterruptLine())
        serial.writeByte(4, 0x10 | 0x0A)  // loop, RTS, OUT2
        #expect(serial.readByte(6) & 0xF0 == 0x90)  // CTS, DCD
        serial.writeByte(0, 0x55)
        #expect(sink.text.isEmpty)
        #expect(serial.readByte(0) == 0x55)
        serial.writeByte(2, 0x01)
        #expect(serial.readByte(2) & 0xC0 == 0xC0, "FIFO enabled is reported as a 16550A")
    }

    @Test func oddOffsetsAndSizesAreHarmless() {
        let serial = Serial16550(sink: BufferSink(), interrupt: CountingInterruptLine())
        var wide: UInt32 = 0
        withUnsafeMutableBytes(of: &wide) { serial.read(offset: 9, into: $0) }
        #expect(wide == 0xFFFF_FFFF)
        serial.writeByte(99, 1)
        serial.receive([UInt8](repeating: 1, count: 200_000))
    }
}

@Suite struct I8042Tests {
    @Test func theResetCommandEndsTheMachine() {
        let resets = Mutex(0)
        let controller = I8042 { resets.withLock { $0 += 1 } }
        controller.writeByte(4, 0xFE)
        #expect(resets.withLock { $0 } == 1)
    }

    @Test func selfTestAndConfigurationByteAnswerLikeAController() {
        let controller = I8042 {}
        controller.writeByte(4, 0xAA)
        #expect(controller.readByte(4) & 1 == 1)
        #expect(controller.readByte(0) == 0x55)
        #expect(controller.readByte(4) & 1 == 0)
        controller.writeByte(4, 0x60)
        controller.writeByte(0, 0x47)
        controller.writeByte(4, 0x20)
        #expect(controller.readByte(0) == 0x47)
    }

    @Test func pulsingTheResetLineThroughTheOutputPortAlsoResets() {
        let resets = Mutex(0)
        let controller = I8042 { resets.withLock { $0 += 1 } }
        controller.writeByte(4, 0xD1)
        controller.writeByte(0, 0xFE)
        #expect(resets.withLock { $0 } == 1)
    }
}

@Suite struct AddressBusTests {
    final class Recorder: BusDevice, @unchecked Sendable {
        let writes = Mutex<[(UInt64, UInt8)]>([])
        func read(offset: UInt64, into data: UnsafeMutableRawBufferPointer) {
            for i in 0..<data.count { data[i] = UInt8(truncatingIfNeeded: offset) }
        }
        func write(offset: UInt64, from data: UnsafeRawBufferPointer) { writes.withLock { $0.append((offset, data[0])) } }
    }

    @Test func accessesAreRoutedByRangeWithRelativeOffsets() throws {
        let a = Recorder(), b = Recorder()
        let bus = try AddressBus(ranges: [.init(base: 0x100, length: 0x10, device: a), .init(base: 0x3F8, length: 8, device: b)])
        var byte: UInt8 = 0
        withUnsafeMutableBytes(of: &byte) { bus.read(0x3FD, $0) }
        #expect(byte == 5)
        withUnsafeBytes(of: UInt8(9)) { bus.write(0x10F, $0) }
        #expect(a.writes.withLock { $0.map(\.0) } == [0xF])
        #expect(b.writes.withLock { $0.isEmpty })
    }

    @Test func unclaimedAddressesReadAsAllOnesAndIgnoreWrites() throws {
        let bus = try AddressBus(ranges: [])
        var value: UInt32 = 0
        withUnsafeMutableBytes(of: &value) { bus.read(0xCFC, $0) }
        #expect(value == 0xFFFF_FFFF)
        withUnsafeBytes(of: UInt32(1)) { bus.write(0xCF8, $0) }
    }

    @Test func overlappingRangesAreAConfigurationError() {
        #expect(throws: VMMError.self) {
            _ = try AddressBus(ranges: [
                .init(base: 0, length: 0x10, device: Recorder()), .init(base: 0x8, length: 0x10, device: Recorder()),
            ])
        }
    }
}

@Suite struct VMConfigurationTests {
    @Test func diskAndVsockSpecificationsParse() throws {
        #expect(try VMConfiguration.Disk.parse("/a.img") == .init(path: "/a.img", readOnly: false))
        #expect(try VMConfiguration.Disk.parse("/a.img,ro") == .init(path: "/a.img", readOnly: true))
        #expect(throws: VMMError.self) { _ = try VMConfiguration.Disk.parse("/a.img,bogus") }
        #expect(throws: VMMError.self) { _ = try VMConfiguration.Disk.parse(",ro") }
        #expect(try VMConfiguration.Vsock.parse("3,/tmp/v.sock") == .init(guestCID: 3, socketPath: "/tmp/v.sock"))
        #expect(throws: VMMError.self) { _ = try VMConfiguration.Vsock.parse("2,/tmp/v.sock") }
        #expect(throws: VMMError.self) { _ = try VMConfiguration.Vsock.parse("abc") }
        #expect(try VMConfiguration.Disk.parse("/a.img,ro,serial=layer0") == .init(path: "/a.img", readOnly: true, serial: "layer0"))
        #expect(throws: VMMError.self) { _ = try VMConfiguration.Disk.parse("/a.img,serial=") }
        #expect(throws: VMMError.self) { _ = try VMConfiguration.Disk.parse("/a.img,serial=123456789012345678901") }
        #expect(throws: VMMError.self) { _ = try VMConfiguration.Disk.parse("/a.img,serial=a\u{7F}") }
        #expect(try VMConfiguration.Vsock.parse("3") == .init(guestCID: 3, socketPath: nil))
        #expect(throws: VMMError.self) { _ = try VMConfiguration.Vsock.parse("3,") }
        #expect(try VMConfiguration.Vsock.parseStream("3:1024") == .init(fd: 3, guestPort: 1024))
        #expect(throws: VMMError.self) { _ = try VMConfiguration.Vsock.parseStream("1:1024") }
        #expect(throws: VMMError.self) { _ = try VMConfiguration.Vsock.parseStream("3") }
        var configuration = VMConfiguration(kernelPath: "/k")
        configuration.tapName = "tap0"
        configuration.tapDescriptor = 5
        #expect(throws: VMMError.self) { try configuration.validate() }
        configuration.tapName = nil
        configuration.macAddress = [1, 2, 3, 4, 5, 6]
        #expect(throws: VMMError.self, "a multicast MAC") { try configuration.validate() }
        configuration.macAddress = [2, 2, 3, 4, 5, 6]
        try configuration.validate()
        configuration.vsock = .init(guestCID: 3, socketPath: nil)
        #expect(throws: VMMError.self, "a vsock device that reaches nothing") { try configuration.validate() }
    }

    @Test func limitsAreChecked() {
        var config = VMConfiguration(kernelPath: "/k")
        config.memoryMiB = 4
        #expect(throws: VMMError.memoryTooSmall(requestedMiB: 4, minimumMiB: 8)) { try config.validate() }
        config.memoryMiB = 64
        config.cpus = 0
        #expect(throws: VMMError.self) { try config.validate() }
        config.cpus = 2
        config.tapName = "a-name-longer-than-15"
        #expect(throws: VMMError.self) { try config.validate() }
        config.tapName = "tap0"
        try? config.validate()
    }

    @Test func exitCodesAreDistinct() {
        let statuses: [VMExitStatus] = [
            .guestStopped, .hostFailure("x"), .tripleFault(rip: nil), .kvmInternalError(suberror: 1), .entryFailed(reason: 0),
            .stoppedByHost,
        ]
        #expect(Set(statuses.map(\.exitCode)).count == statuses.count)
        #expect(VMExitStatus.guestStopped.exitCode == 0)
    }
}

/// A host without usable KVM: the error says what to do and where to read more.
@Suite struct KVMUnavailableTests {
    @Test func aMissingDeviceNamesTheFixAndTheDocs() {
        do {
            _ = try KVMSystem(path: "/nonexistent-skiff-test/kvm")
            Issue.record("opened a device that does not exist")
        } catch {
            let text = "\(error)"
            #expect(text.contains("cannot open /nonexistent-skiff-test/kvm") && text.contains("kvm_intel/kvm_amd"), "\(text)")
            #expect(text.contains("docs/vm-monitor.md"), "\(text)")
        }
    }
}

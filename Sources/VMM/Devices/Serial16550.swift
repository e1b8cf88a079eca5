import Synchronization

/// Where the serial console's transmitted bytes go (our stdout, a buffer in tests). `write` is
/// called on a vCPU thread and must not block: a stop request is only seen between exits.
public protocol SerialSink: AnyObject, Sendable {
    func write(_ bytes: [UInt8])
    /// A descriptor that gains room for output the sink holds back; the device loop calls
    /// `flushPending` when it does. nil for sinks that never hold output back.
    var pendingOutputDescriptor: Int32? { get }
    func flushPending()
}

extension SerialSink {
    public var pendingOutputDescriptor: Int32? { nil }
    public func flushPending() {}
}

/// A 16550A UART at 0x3F8 (8 ports) as the guest console: transmit goes to a sink at once, input
/// queued by `receive` is read from RBR. Models DLAB, the FIFO identification Linux's 8250 driver
/// probes for, loopback (its autoconfig test), and THRE/RDA interrupts on IRQ 4.
public final class Serial16550: BusDevice, Sendable {
    public static let basePort: UInt64 = 0x3F8
    public static let irq: UInt32 = 4
    static let fifoCapacity = 64 * 1024

    struct State {
        var ier: UInt8 = 0
        var lcr: UInt8 = 0x03
        var mcr: UInt8 = 0x08
        var lsr: UInt8 = 0x60  // THR empty, transmitter empty
        var msr: UInt8 = 0xB0  // DCD, DSR, CTS
        var scratch: UInt8 = 0
        var divisorLow: UInt8 = 0x0C
        var divisorHigh: UInt8 = 0
        var fifoControl: UInt8 = 0
        var thrInterruptPending = false
        var input: [UInt8] = []
        var inputHead = 0
        var hasInput: Bool { inputHead < input.count }
    }

    private let state = Mutex(State())
    private let sink: any SerialSink
    private let line: any InterruptLine

    public init(sink: any SerialSink, interrupt: any InterruptLine) {
        self.sink = sink
        self.line = interrupt
    }

    /// Queues bytes typed by the user; drops what exceeds the buffer rather than growing without bound.
    public func receive(_ bytes: [UInt8]) {
        let fire = state.withLock { s -> Bool in
            if s.inputHead > 0 && s.inputHead == s.input.count {
                s.input.removeAll(keepingCapacity: true)
                s.inputHead = 0
            }
            let room = Self.fifoCapacity - (s.input.count - s.inputHead)
            s.input.append(contentsOf: bytes.prefix(max(0, room)))
            s.lsr |= 0x01
            return s.ier & 0x01 != 0 && s.mcr & 0x08 != 0
        }
        if fire { line.trigger() }
    }

    public func read(offset: UInt64, into data: UnsafeMutableRawBufferPointer) {
        guard data.count >= 1 else { return }
        let value = state.withLock { s -> UInt8 in
            let dlab = s.lcr & 0x80 != 0
            switch offset {
            case 0:
                if dlab { return s.divisorLow }
                guard s.hasInput else { return 0 }
                let byte = s.input[s.inputHead]
                s.inputHead += 1
                if !s.hasInput { s.lsr &= ~0x01 }
                return byte
            case 1: return dlab ? s.divisorHigh : s.ier
            case 2:
                let fifoBits: UInt8 = s.fifoControl & 0x01 != 0 ? 0xC0 : 0
                if s.ier & 0x01 != 0 && s.hasInput { return fifoBits | 0x04 }
                if s.ier & 0x02 != 0 && s.thrInterruptPending {
                    s.thrInterruptPending = false
                    return fifoBits | 0x02
                }
                return fifoBits | 0x01
            case 3: return s.lcr
            case 4: return s.mcr
            case 5: return s.lsr
            case 6:
                if s.mcr & 0x10 != 0 {
                    // Loopback: DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD.
                    let m = s.mcr
                    return ((m & 0x01) << 5) | ((m & 0x02) << 3) | ((m & 0x04) << 4) | ((m & 0x08) << 4)
                }
                return s.msr
            case 7: return s.scratch
            default: return 0xFF
            }
        }
        data[0] = value
        for i in 1..<data.count { data[i] = 0xFF }
    }

    public func write(offset: UInt64, from data: UnsafeRawBufferPointer) {
        guard data.count >= 1 else { return }
        let value = data[0]
        var transmit: UInt8?
        let fire = state.withLock { s -> Bool in
            let dlab = s.lcr & 0x80 != 0
            switch offset {
            case 0:
                if dlab {
                    s.divisorLow = value
                    return false
                }
                if s.mcr & 0x10 != 0 {
                    if s.input.count - s.inputHead < Self.fifoCapacity { s.input.append(value) }
                    s.lsr |= 0x01
                } else {
                    transmit = value
                }
                s.thrInterruptPending = true
                return s.ier & 0x02 != 0 || (s.mcr & 0x10 != 0 && s.ier & 0x01 != 0)
            case 1:
                if dlab {
                    s.divisorHigh = value
                    return false
                }
                let newlyTHRE = value & 0x02 != 0 && s.ier & 0x02 == 0
                s.ier = value & 0x0F
                if newlyTHRE { s.thrInterruptPending = true }
                return newlyTHRE || (value & 0x01 != 0 && s.hasInput)
            case 2:
                s.fifoControl = value
                if value & 0x02 != 0 {
                    s.input.removeAll()
                    s.inputHead = 0
                    s.lsr &= ~0x01
                }
                return false
            case 3:
                s.lcr = value
                return false
            case 4:
                s.mcr = value & 0x1F
                return false
            case 7:
                s.scratch = value
                return false
            default: return false
            }
        }
        if let transmit { sink.write([transmit]) }
        if fire { line.trigger() }
    }
}

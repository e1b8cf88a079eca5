import Synchronization

/// The PS/2 controller at ports 0x60/0x64, reduced to what guests use on a micro-VM: the
/// controller self-test and configuration byte Linux probes, and the CPU reset line (command 0xFE)
/// that reboot (and our test guests' power-off) pulls to end the VM.
public final class I8042: BusDevice, Sendable {
    public static let dataPort: UInt64 = 0x60
    public static let commandPort: UInt64 = 0x64
    static let commandResetCPU: UInt8 = 0xFE

    struct State {
        var output: [UInt8] = []
        var configuration: UInt8 = 0x00
        var pendingCommand: UInt8?
    }

    private let state = Mutex(State())
    private let onReset: @Sendable () -> Void

    /// `onReset` runs when the guest pulses the reset line.
    public init(onReset: @escaping @Sendable () -> Void) {
        self.onReset = onReset
    }

    /// The device covers 0x60...0x64; offsets are relative to 0x60.
    public func read(offset: UInt64, into data: UnsafeMutableRawBufferPointer) {
        guard data.count >= 1 else { return }
        let value: UInt8 = state.withLock { s in
            switch offset {
            case 0:
                return s.output.isEmpty ? 0 : s.output.removeFirst()
            case 4:
                return (s.output.isEmpty ? 0 : 0x01) | 0x04  // output full, system flag
            default:
                return 0xFF
            }
        }
        data[0] = value
        for i in 1..<data.count { data[i] = 0xFF }
    }

    public func write(offset: UInt64, from data: UnsafeRawBufferPointer) {
        guard data.count >= 1 else { return }
        let value = data[0]
        let reset = state.withLock { s -> Bool in
            switch offset {
            case 4:
                switch value {
                case Self.commandResetCPU: return true
                case 0x20: s.output = [s.configuration]
                case 0x60, 0xD1, 0xD2, 0xD3, 0xD4: s.pendingCommand = value
                case 0xAA: s.output = [0x55]  // controller self-test passed
                case 0xAB, 0xA9: s.output = [0x00]  // port tests passed
                case 0xA7, 0xA8, 0xAD, 0xAE: break
                default: break
                }
                return false
            case 0:
                switch s.pendingCommand {
                case 0x60: s.configuration = value
                case 0xD1:
                    if value & 0x01 == 0 {
                        s.pendingCommand = nil
                        return true
                    }
                case 0xD2: s.output = [value]
                default: s.output = [0xFA]  // ACK to keyboard bytes: no keyboard behind it
                }
                s.pendingCommand = nil
                return false
            default:
                return false
            }
        }
        if reset { onReset() }
    }
}

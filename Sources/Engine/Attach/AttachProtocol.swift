/// The messages between a container's monitor and its attach clients (`run -it`, `attach`,
/// `start -a -i`) over the Unix socket in the container's directory: one type byte, a 32-bit
/// big-endian payload length, the payload.
public enum AttachFrame: Equatable, Sendable {
    /// Client to monitor: bytes for the program's stdin (the pty's input with -t).
    case stdin([UInt8])
    /// Client to monitor: the client's stdin ended; close the program's stdin pipe.
    case closeStdin
    /// Client to monitor: the client's terminal size.
    case resize(rows: UInt16, columns: UInt16)
    /// Monitor to client: the program's output (a tty's output is all stdout).
    case stdout([UInt8])
    case stderr([UInt8])
    /// Monitor to client: the program exited for good (no restart follows) with this code.
    case exit(Int32)
    /// Engine to monitor: deliver a signal to the program (to all its processes with `all`). The
    /// way `kill` and `stop` reach a program in a micro-VM, which no host pid names.
    case signal(Int32, all: Bool)
    /// Client to a micro-VM container's monitor, first on `exec.sock`: run this process (JSON of
    /// `ExecRequest`) and make this connection its stdio.
    case exec([UInt8])

    /// The largest payload accepted: a frame announcing more is a broken or hostile peer.
    public static let maximumPayload = 1 << 20

    public func encoded() -> [UInt8] {
        func frame(_ type: UInt8, _ payload: [UInt8]) -> [UInt8] {
            let count = UInt32(payload.count)
            return [type, UInt8(count >> 24), UInt8((count >> 16) & 0xff), UInt8((count >> 8) & 0xff), UInt8(count & 0xff)] + payload
        }
        switch self {
        case .stdin(let bytes): return frame(1, bytes)
        case .closeStdin: return frame(2, [])
        case .resize(let rows, let columns):
            return frame(3, [UInt8(rows >> 8), UInt8(rows & 0xff), UInt8(columns >> 8), UInt8(columns & 0xff)])
        case .stdout(let bytes): return frame(4, bytes)
        case .stderr(let bytes): return frame(5, bytes)
        case .exit(let code):
            let value = UInt32(bitPattern: code)
            return frame(6, [UInt8(value >> 24), UInt8((value >> 16) & 0xff), UInt8((value >> 8) & 0xff), UInt8(value & 0xff)])
        case .signal(let number, let all):
            let value = UInt32(bitPattern: number)
            return frame(
                7, [UInt8(value >> 24), UInt8((value >> 16) & 0xff), UInt8((value >> 8) & 0xff), UInt8(value & 0xff), all ? 1 : 0])
        case .exec(let json): return frame(8, json)
        }
    }
}

/// Why a peer's bytes are not a valid frame stream.
public struct AttachProtocolError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// Reassembles frames from the bytes a socket delivers in arbitrary pieces.
public struct AttachFrameDecoder: Sendable {
    private var buffer: [UInt8] = []

    public init() {}

    public mutating func append(_ bytes: ArraySlice<UInt8>) { buffer.append(contentsOf: bytes) }

    /// The next complete frame, nil when more bytes are needed.
    public mutating func next() throws -> AttachFrame? {
        guard buffer.count >= 5 else { return nil }
        let length = Int(buffer[1]) << 24 | Int(buffer[2]) << 16 | Int(buffer[3]) << 8 | Int(buffer[4])
        guard length <= AttachFrame.maximumPayload else {
            throw AttachProtocolError(description: "attach frame of \(length) bytes exceeds the \(AttachFrame.maximumPayload)-byte limit")
        }
        guard buffer.count >= 5 + length else { return nil }
        let type = buffer[0]
        let payload = Array(buffer[5..<(5 + length)])
        buffer.removeFirst(5 + length)
        func word() throws -> UInt32 {
            guard payload.count == 4 else { throw AttachProtocolError(description: "attach frame type \(type) needs a 4-byte payload") }
            return UInt32(payload[0]) << 24 | UInt32(payload[1]) << 16 | UInt32(payload[2]) << 8 | UInt32(payload[3])
        }
        switch type {
        case 1: return .stdin(payload)
        case 2: return .closeStdin
        case 3:
            let value = try word()
            return .resize(rows: UInt16(value >> 16), columns: UInt16(value & 0xffff))
        case 4: return .stdout(payload)
        case 5: return .stderr(payload)
        case 6: return .exit(Int32(bitPattern: try word()))
        case 7:
            guard payload.count == 5, payload[4] <= 1 else {
                throw AttachProtocolError(description: "attach frame type 7 needs a 5-byte payload")
            }
            let value = UInt32(payload[0]) << 24 | UInt32(payload[1]) << 16 | UInt32(payload[2]) << 8 | UInt32(payload[3])
            return .signal(Int32(bitPattern: value), all: payload[4] == 1)
        case 8: return .exec(payload)
        default: throw AttachProtocolError(description: "unknown attach frame type \(type)")
        }
    }
}

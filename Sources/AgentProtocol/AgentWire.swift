/// The framing of the host-agent byte stream (docs/agent-protocol.md): pure functions and an
/// incremental decoder, apart from any socket, so every rule a misbehaving guest can hit is
/// tested at every slice size.
///
/// A frame is a 9-byte header and a payload:
///
///     length  u32 big-endian   bytes after this field: 5 + payload.count
///     kind    u8               FrameKind
///     channel u32 big-endian   request id (request/response/failure), stream handle (data/close), 0 otherwise
///     payload [UInt8]          JSON for control frames, raw bytes for data
public enum AgentWire {
    /// The largest frame either side accepts (header included). Control messages are small; data
    /// is cut into chunks of at most `maxDataChunk` bytes, so anything larger is a broken or
    /// hostile peer.
    public static let maxFrameSize = 1 << 20
    /// The largest data payload a sender puts in one frame (plus its stream byte).
    public static let maxDataChunk = 64 << 10
    static let headerSize = 9

    /// The bytes of `frame` on the wire.
    public static func encode(_ frame: Frame) throws(AgentProtocolError) -> [UInt8] {
        let total = headerSize + frame.payload.count
        guard total <= maxFrameSize else { throw .frameTooLarge(size: total, limit: maxFrameSize) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(total)
        append(UInt32(total - 4), to: &bytes)
        bytes.append(frame.kind.rawValue)
        append(frame.channel, to: &bytes)
        bytes.append(contentsOf: frame.payload)
        return bytes
    }

    static func append(_ value: UInt32, to bytes: inout [UInt8]) {
        bytes.append(UInt8(truncatingIfNeeded: value >> 24))
        bytes.append(UInt8(truncatingIfNeeded: value >> 16))
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value))
    }

    static func readUInt32(_ bytes: ArraySlice<UInt8>, at offset: Int) -> UInt32 {
        let i = bytes.startIndex + offset
        return UInt32(bytes[i]) << 24 | UInt32(bytes[i + 1]) << 16 | UInt32(bytes[i + 2]) << 8 | UInt32(bytes[i + 3])
    }
}

/// What a frame carries.
public enum FrameKind: UInt8, Sendable, CaseIterable {
    /// The first frame each side sends: magic, protocol version, then JSON `AgentHello`.
    case hello = 1
    /// Host to agent: a JSON `AgentRequest`; channel is the request id.
    case request = 2
    /// Agent to host: the JSON `AgentResponse` to the request named by channel.
    case response = 3
    /// Agent to host: the JSON `AgentFailure` that ended the request named by channel.
    case failure = 4
    /// Either way: bytes of one stream; channel is the stream handle, payload[0] the stream
    /// (`StdioStream`), the rest the bytes.
    case data = 5
    /// Either way: the end of one stream; channel is the handle, payload[0] the stream.
    case close = 6
    /// Agent to host: a JSON `AgentEvent` (a process exited, the guest ran out of memory).
    case event = 7
}

/// One frame of the stream.
public struct Frame: Equatable, Sendable {
    public var kind: FrameKind
    public var channel: UInt32
    public var payload: [UInt8]

    public init(kind: FrameKind, channel: UInt32 = 0, payload: [UInt8] = []) {
        self.kind = kind
        self.channel = channel
        self.payload = payload
    }
}

/// Turns bytes, in slices of any size, into frames. A peer that announces a frame larger than
/// `AgentWire.maxFrameSize`, or shorter than a header, or of a kind this version does not know,
/// is refused at once (before its payload is buffered): the caller drops the connection.
public struct FrameDecoder: Sendable {
    private var buffer: [UInt8] = []
    private var start = 0

    public init() {}

    /// Adds `bytes` and returns the frames they complete.
    public mutating func feed(_ bytes: some Collection<UInt8>) throws(AgentProtocolError) -> [Frame] {
        buffer.append(contentsOf: bytes)
        var frames: [Frame] = []
        while let frame = try next() { frames.append(frame) }
        if start > 0 && (start == buffer.count || start >= 64 << 10) {
            buffer.removeFirst(start)
            start = 0
        }
        return frames
    }

    /// Bytes received that do not make a whole frame yet.
    public var pendingByteCount: Int { buffer.count - start }

    /// Called at the end of the stream: an error if it ended inside a frame.
    public func finish() throws(AgentProtocolError) {
        guard pendingByteCount == 0 else { throw .truncated(pending: pendingByteCount) }
    }

    private mutating func next() throws(AgentProtocolError) -> Frame? {
        let available = buffer[start...]
        guard available.count >= 4 else { return nil }
        let length = Int(AgentWire.readUInt32(available, at: 0))
        guard length >= AgentWire.headerSize - 4 else {
            throw .malformedFrame("a frame length of \(length) is shorter than a frame header")
        }
        guard length + 4 <= AgentWire.maxFrameSize else { throw .frameTooLarge(size: length + 4, limit: AgentWire.maxFrameSize) }
        guard available.count >= 5 else { return nil }
        let kindByte = available[available.startIndex + 4]
        guard let kind = FrameKind(rawValue: kindByte) else { throw .unknownFrameKind(kindByte) }
        guard available.count >= length + 4 else { return nil }
        let channel = AgentWire.readUInt32(available, at: 5)
        let payloadStart = available.startIndex + AgentWire.headerSize
        let payload = Array(buffer[payloadStart..<(available.startIndex + 4 + length)])
        start += 4 + length
        return Frame(kind: kind, channel: channel, payload: payload)
    }
}

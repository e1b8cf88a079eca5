import JSON

/// The hello each side sends first. Its payload is the 8-byte magic "SKIFFAGT", the protocol
/// version (u16 big-endian), then a JSON `AgentHello`. The version is read before any JSON, so a
/// peer of another version is refused with a clear message whatever its messages look like.
public enum AgentHandshake {
    /// Bumped for any change that an older peer would misread. Peers of different versions refuse
    /// each other; the host rebuilds its cached agent initramfs when the version changes.
    public static let version: UInt16 = 2
    static let magic = Array("SKIFFAGT".utf8)

    public static func frame(_ hello: AgentHello) throws -> Frame {
        var payload = magic
        payload.append(UInt8(truncatingIfNeeded: version >> 8))
        payload.append(UInt8(truncatingIfNeeded: version))
        payload.append(contentsOf: try JSONEncoding.encode(hello))
        return Frame(kind: .hello, payload: payload)
    }

    /// The peer's hello from its first frame, or why it is not one this side can talk to.
    public static func parse(_ frame: Frame) throws(AgentProtocolError) -> AgentHello {
        guard frame.kind == .hello else { throw .unexpectedFrame(expected: "hello", got: frame.kind) }
        guard frame.payload.count >= magic.count + 2, Array(frame.payload.prefix(magic.count)) == magic else { throw .notAnAgent }
        let peer = UInt16(frame.payload[magic.count]) << 8 | UInt16(frame.payload[magic.count + 1])
        guard peer == version else { throw .versionMismatch(peer: peer, ours: version) }
        do {
            return try JSONDecoding.decode(AgentHello.self, from: Array(frame.payload.dropFirst(magic.count + 2)))
        } catch {
            throw .badMessage(kind: .hello, reason: "\(error)")
        }
    }
}

/// Who is at the other end.
public struct AgentHello: Codable, Equatable, Sendable {
    /// "host" or "agent".
    public var role: String
    /// The skiff version that built the side (for messages, not for compatibility).
    public var software: String
    /// The guest's kernel release (`uname -r`), sent by the agent.
    public var kernel: String?

    public init(role: String, software: String, kernel: String? = nil) {
        self.role = role
        self.software = software
        self.kernel = kernel
    }
}

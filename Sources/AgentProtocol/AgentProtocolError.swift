/// What was wrong with the other side of the host-agent stream. Every case ends the connection:
/// the host then stops the VM and says why (a hostile or broken agent never gets a second try).
public enum AgentProtocolError: Error, Equatable, Sendable, CustomStringConvertible {
    case frameTooLarge(size: Int, limit: Int)
    case malformedFrame(String)
    case unknownFrameKind(UInt8)
    case truncated(pending: Int)
    case notAnAgent
    case versionMismatch(peer: UInt16, ours: UInt16)
    case unexpectedFrame(expected: String, got: FrameKind)
    case badMessage(kind: FrameKind, reason: String)

    public var description: String {
        switch self {
        case .frameTooLarge(let size, let limit):
            return "the agent stream announced a frame of \(size) bytes, over the limit of \(limit); the peer is broken or hostile"
        case .malformedFrame(let why):
            return "malformed frame on the agent stream: \(why)"
        case .unknownFrameKind(let kind):
            return "the agent stream sent a frame of unknown kind \(kind); the peer speaks another protocol"
        case .truncated(let pending):
            return "the agent stream ended inside a frame (\(pending) bytes of it received): the guest stopped or the transport broke"
        case .notAnAgent:
            return "the first frame on the agent stream is not a skiff agent's hello: the guest runs no skiff agent (check --initrd)"
        case .versionMismatch(let peer, let ours):
            return "the guest agent speaks protocol version \(peer) and this skiff speaks \(ours): "
                + "use the agent initramfs built by this skiff (remove the cached one under the store, or drop --initrd)"
        case .unexpectedFrame(let expected, let got):
            return "the agent stream sent a \(got) frame where \(expected) was expected"
        case .badMessage(let kind, let reason):
            return "a \(kind) frame on the agent stream does not hold a valid message: \(reason)"
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// An IPv6 address as its 16 bytes, parsed and written by the C library (inet_pton/inet_ntop),
/// so the text is the canonical short form ("::1", "fd00:1::2").
public struct IPv6Address: Hashable, Sendable, CustomStringConvertible {
    public var bytes: [UInt8]

    public init(bytes: [UInt8]) {
        precondition(bytes.count == 16, "an IPv6 address has 16 bytes")
        self.bytes = bytes
    }

    /// Parses IPv6 text without brackets or a zone; nil for anything else (an IPv4 address too).
    public init?(_ text: some StringProtocol) {
        var raw = in6_addr()
        guard text.contains(":"), !text.contains("%"), inet_pton(AF_INET6, String(text), &raw) == 1 else { return nil }
        bytes = withUnsafeBytes(of: raw) { Array($0) }
    }

    public var description: String {
        var raw = in6_addr()
        withUnsafeMutableBytes(of: &raw) { $0.copyBytes(from: bytes) }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(AF_INET6, &raw, &buffer, socklen_t(buffer.count)) != nil else { return "::" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The socket address of this address and `port`.
    public func socketAddress(port: UInt16) -> sockaddr_in6 {
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_port = port.bigEndian
        withUnsafeMutableBytes(of: &address.sin6_addr) { $0.copyBytes(from: bytes) }
        return address
    }
}

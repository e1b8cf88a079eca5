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

/// An IPv6 network in CIDR form ("fd00:1::/64"), for `network create --ipv6`.
public struct IPv6Subnet: Hashable, Sendable, CustomStringConvertible {
    public var network: IPv6Address
    public var prefix: Int

    /// Parses "fd00:1::/64"; host bits must be zero (as docker requires), the prefix /1 to /120
    /// (room for a gateway and containers).
    public init(parsing text: String) throws(NetworkError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = IPv6Address(parts[0]), let prefix = Int(parts[1]) else {
            throw .invalidSubnet(text, reason: "it is not an IPv6 address/prefix")
        }
        guard (1...120).contains(prefix) else { throw .invalidSubnet(text, reason: "the IPv6 prefix must be between /1 and /120") }
        let masked = Self.masked(address, prefix)
        guard masked == address else {
            throw .invalidSubnet(text, reason: "host bits are set (the network address is \(masked)/\(prefix))")
        }
        self.network = address
        self.prefix = prefix
    }

    public init(network: IPv6Address, prefix: Int) {
        self.network = Self.masked(network, prefix)
        self.prefix = prefix
    }

    static func masked(_ address: IPv6Address, _ prefix: Int) -> IPv6Address {
        IPv6Address(
            bytes: address.bytes.enumerated().map { index, byte in
                let bits = min(8, max(0, prefix - index * 8))
                return bits == 8 ? byte : byte & ~(UInt8(0xFF) >> UInt8(bits))
            })
    }

    public func contains(_ address: IPv6Address) -> Bool { Self.masked(address, prefix) == network }

    public func overlaps(_ other: IPv6Subnet) -> Bool {
        let common = min(prefix, other.prefix)
        return Self.masked(network, common) == Self.masked(other.network, common)
    }

    /// The address `offset` past the network address (offset below 2^32).
    public func address(_ offset: UInt32) -> IPv6Address {
        var bytes = network.bytes
        var carry = UInt64(offset)
        for index in stride(from: 15, through: 0, by: -1) where carry > 0 {
            let sum = UInt64(bytes[index]) + (carry & 0xFF)
            bytes[index] = UInt8(sum & 0xFF)
            carry = (carry >> 8) + (sum >> 8)
        }
        return IPv6Address(bytes: bytes)
    }

    public var description: String { "\(network)/\(prefix)" }
}

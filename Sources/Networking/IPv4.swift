/// An IPv4 address as a 32-bit number, for subnet arithmetic (overlap, gateway, ranges).
public struct IPv4Address: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var value: UInt32

    public init(_ value: UInt32) { self.value = value }

    /// Parses dotted-quad text ("10.89.0.1"); nil for anything else.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy(\.isASCII), let octet = UInt32(part), octet <= 255 else { return nil }
            value = value << 8 | octet
        }
        self.value = value
    }

    public var description: String {
        "\(value >> 24).\(value >> 16 & 255).\(value >> 8 & 255).\(value & 255)"
    }

    public static func < (a: IPv4Address, b: IPv4Address) -> Bool { a.value < b.value }
}

/// An IPv4 network in CIDR form, normalised to its network address.
public struct IPv4Subnet: Hashable, Sendable, CustomStringConvertible {
    public var network: IPv4Address
    public var prefix: Int

    public init(network: IPv4Address, prefix: Int) {
        self.prefix = prefix
        self.network = IPv4Address(network.value & Self.mask(prefix))
    }

    /// Parses "10.89.0.0/24"; host bits must be zero (as docker requires).
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = IPv4Address(parts[0]), let prefix = Int(parts[1]), (0...32).contains(prefix) else {
            throw NetworkError.invalidSubnet(text, reason: "it is not an IPv4 address/prefix")
        }
        guard address.value & ~Self.mask(prefix) == 0 else {
            throw NetworkError.invalidSubnet(
                text, reason: "host bits are set (the network address is \(IPv4Address(address.value & Self.mask(prefix)))/\(prefix))")
        }
        self.init(network: address, prefix: prefix)
    }

    public static func mask(_ prefix: Int) -> UInt32 {
        prefix == 0 ? 0 : UInt32.max << UInt32(32 - prefix)
    }

    public var mask: UInt32 { Self.mask(prefix) }
    public var broadcast: IPv4Address { IPv4Address(network.value | ~mask) }

    public func contains(_ address: IPv4Address) -> Bool { address.value & mask == network.value }

    public func overlaps(_ other: IPv4Subnet) -> Bool {
        let common = Self.mask(min(prefix, other.prefix))
        return network.value & common == other.network.value & common
    }

    /// The n-th address of the subnet (1: the usual gateway).
    public func address(_ n: UInt32) -> IPv4Address { IPv4Address(network.value + n) }

    public var description: String { "\(network)/\(prefix)" }
}

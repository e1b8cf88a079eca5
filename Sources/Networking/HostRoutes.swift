#if canImport(Glibc)
import Glibc
#endif
import LinuxSupport

/// The host's IPv4 routes (from /proc/net/route) and IPv6 routes (/proc/net/ipv6_route), so a
/// new network's subnet never shadows a network the host already reaches.
public enum HostRoutes {
    public struct Route: Sendable, Equatable {
        public var interface: String
        public var subnet: IPv4Subnet

        public init(interface: String, subnet: IPv4Subnet) {
            self.interface = interface
            self.subnet = subnet
        }
    }

    public static func current() -> [Route] {
        guard let text = try? FileIO.readString("/proc/net/route") else { return [] }
        return parse(text)
    }

    /// Parses the kernel's table (hex little-endian destination and mask); default routes are left out.
    public static func parse(_ text: String) -> [Route] {
        text.split(separator: "\n").dropFirst().compactMap { line in
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 8, let destination = UInt32(fields[1], radix: 16), let mask = UInt32(fields[7], radix: 16) else {
                return nil
            }
            let prefix = mask.byteSwapped.nonzeroBitCount
            guard prefix > 0 else { return nil }
            return Route(interface: String(fields[0]), subnet: IPv4Subnet(network: IPv4Address(destination.byteSwapped), prefix: prefix))
        }
    }

    public struct IPv6Route: Sendable, Equatable {
        public var interface: String
        public var subnet: IPv6Subnet
    }

    public static func currentIPv6() -> [IPv6Route] {
        guard let text = try? FileIO.readString("/proc/net/ipv6_route") else { return [] }
        return parseIPv6(text)
    }

    /// Parses /proc/net/ipv6_route (destination as 32 hex digits, prefix length in hex); default
    /// routes, link-local (fe80::/10), multicast (ff00::/8) and loopback routes are left out:
    /// every interface has them, and they never clash with a network's subnet.
    public static func parseIPv6(_ text: String) -> [IPv6Route] {
        text.split(separator: "\n").compactMap { line in
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 10, fields[0].utf8.count == 32, let prefix = Int(fields[1], radix: 16), prefix > 0, fields[9] != "lo"
            else { return nil }
            var bytes: [UInt8] = []
            var index = fields[0].startIndex
            while index < fields[0].endIndex {
                let next = fields[0].index(index, offsetBy: 2)
                guard let byte = UInt8(fields[0][index..<next], radix: 16) else { return nil }
                bytes.append(byte)
                index = next
            }
            guard bytes[0] != 0xff, !(bytes[0] == 0xfe && bytes[1] & 0xc0 == 0x80) else { return nil }
            return IPv6Route(interface: String(fields[9]), subnet: IPv6Subnet(network: IPv6Address(bytes: bytes), prefix: min(prefix, 128)))
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
import LinuxSupport

/// The host's IPv4 routes (from /proc/net/route), so a new network's subnet never shadows a
/// network the host already reaches.
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
}

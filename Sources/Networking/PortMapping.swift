/// One published port (`-p`), as docker writes it: `[IP:][HOST:]CONTAINER[/tcp|/udp]`. A host
/// port of 0 asks for a free port chosen when the container starts.
public struct PortMapping: Codable, Sendable, Equatable, Hashable, CustomStringConvertible {
    /// The host address it is published on; "" for every address.
    public var hostIP: String
    public var hostPort: UInt16
    public var containerPort: UInt16
    /// "tcp" or "udp".
    public var proto: String

    public init(hostIP: String = "", hostPort: UInt16, containerPort: UInt16, proto: String = "tcp") {
        self.hostIP = hostIP
        self.hostPort = hostPort
        self.containerPort = containerPort
        self.proto = proto
    }

    public init(parsing text: String) throws {
        var body = Substring(text)
        var proto = "tcp"
        if let slash = body.lastIndex(of: "/") {
            proto = body[body.index(after: slash)...].lowercased()
            body = body[..<slash]
            guard proto == "tcp" || proto == "udp" else {
                throw NetworkError.invalidPortSpec(text, reason: "the protocol '\(proto)' is not tcp or udp")
            }
        }
        let parts = body.split(separator: ":", omittingEmptySubsequences: false)
        func port(_ part: Substring, what: String) throws -> UInt16 {
            if part.contains("-") { throw NetworkError.invalidPortSpec(text, reason: "port ranges are not supported") }
            guard let value = UInt16(part), value > 0 else {
                throw NetworkError.invalidPortSpec(text, reason: "the \(what) '\(part)' is not a port number between 1 and 65535")
            }
            return value
        }
        var hostIP = ""
        var hostPort: UInt16 = 0
        switch parts.count {
        case 1:
            break
        case 2:
            hostPort = try port(parts[0], what: "host port")
        case 3:
            guard let address = IPv4Address(parts[0]) else {
                throw NetworkError.invalidPortSpec(text, reason: "the host address '\(parts[0])' is not an IPv4 address")
            }
            hostIP = address.description == "0.0.0.0" ? "" : address.description
            if !parts[1].isEmpty { hostPort = try port(parts[1], what: "host port") }
        default:
            throw NetworkError.invalidPortSpec(text, reason: "too many ':'-separated parts")
        }
        let containerPort = try port(parts[parts.count - 1], what: "container port")
        self.init(hostIP: hostIP, hostPort: hostPort, containerPort: containerPort, proto: proto)
    }

    /// `-P`: every port the image exposes (`ExposedPorts` keys: "80/tcp", "53/udp", "8080") not
    /// already published, each on a host port chosen at start.
    public static func publishingAll(exposed: [String], published: [PortMapping]) throws -> [PortMapping] {
        var result = published
        for key in exposed.sorted() {
            var mapping = try PortMapping(parsing: key)
            guard mapping.hostPort == 0, mapping.hostIP.isEmpty else {
                throw NetworkError.invalidPortSpec(key, reason: "the image's ExposedPorts entry is not PORT[/PROTOCOL]")
            }
            mapping.hostPort = 0
            if !result.contains(where: { $0.containerPort == mapping.containerPort && $0.proto == mapping.proto }) { result.append(mapping) }
        }
        return result
    }

    /// docker ps's form: `0.0.0.0:8080->80/tcp`.
    public var description: String {
        "\(hostIP.isEmpty ? "0.0.0.0" : hostIP):\(hostPort)->\(containerPort)/\(proto)"
    }
}

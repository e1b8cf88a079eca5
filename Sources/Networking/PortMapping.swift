/// One published port (`-p`), as docker writes it: `[IP:][HOST:]CONTAINER[/tcp|/udp]`, an IPv6
/// host address in brackets (`[::1]:8080:80`; the monitor proxies those, see `PortProxy`). A host
/// port of 0 asks for a free port chosen when the container starts; a host range with one
/// container port (`8000-8010:80`) asks for the first free port of the range.
public struct PortMapping: Codable, Sendable, Equatable, Hashable, CustomStringConvertible {
    /// The host address it is published on; "" for every IPv4 address, "::" for every IPv6 one.
    public var hostIP: String
    public var hostPort: UInt16
    /// With a host range: its last port (`hostPort` is the first); nil once a port was chosen.
    public var hostPortEnd: UInt16?
    public var containerPort: UInt16
    /// "tcp" or "udp".
    public var proto: String

    /// The most ports one `-p` may publish: each holds a socket for the container's life.
    public static let maximumRange = 1024

    public init(hostIP: String = "", hostPort: UInt16, hostPortEnd: UInt16? = nil, containerPort: UInt16, proto: String = "tcp") {
        self.hostIP = hostIP
        self.hostPort = hostPort
        self.hostPortEnd = hostPortEnd
        self.containerPort = containerPort
        self.proto = proto
    }

    /// One mapping without ranges (the image's ExposedPorts entries, tests).
    public init(parsing text: String) throws {
        let all = try Self.parseAll(text)
        guard all.count == 1, all[0].hostPortEnd == nil else {
            throw NetworkError.invalidPortSpec(text, reason: "a port range is not allowed here")
        }
        self = all[0]
    }

    /// Every mapping one `-p` value asks for, with docker's ranges: `8000-8002:80-82` (pairwise),
    /// `80-82` (each on a free host port), `8000-8010:80` (the first free host port of the range).
    public static func parseAll(_ text: String) throws -> [PortMapping] {
        var body = Substring(text)
        var proto = "tcp"
        if let slash = body.lastIndex(of: "/") {
            proto = body[body.index(after: slash)...].lowercased()
            body = body[..<slash]
            guard proto == "tcp" || proto == "udp" else {
                throw NetworkError.invalidPortSpec(text, reason: "the protocol '\(proto)' is not tcp or udp")
            }
        }
        // An IPv6 host address is bracketed (docker's form); the rest splits on ':' as for IPv4.
        var ipv6: IPv6Address?
        if body.first == "[" {
            guard let close = body.firstIndex(of: "]"), let address = IPv6Address(body[body.index(after: body.startIndex)..<close]) else {
                throw NetworkError.invalidPortSpec(text, reason: "the host address in brackets is not an IPv6 address")
            }
            ipv6 = address
            body = Substring("[]" + body[body.index(after: close)...])
        }
        let parts = body.split(separator: ":", omittingEmptySubsequences: false)
        if ipv6 != nil, parts.count != 3 {
            throw NetworkError.invalidPortSpec(text, reason: "an IPv6 host address goes first: [ADDRESS]:[HOST_PORT]:CONTAINER_PORT")
        }
        if ipv6 != nil, proto == "udp" {
            throw NetworkError.invalidPortSpec(
                text, reason: "UDP on an IPv6 host address is not supported yet (skiff proxies IPv6 host addresses for TCP only)")
        }
        func number(_ part: Substring, what: String) throws -> UInt16 {
            guard let value = UInt16(part), value > 0 else {
                throw NetworkError.invalidPortSpec(text, reason: "the \(what) '\(part)' is not a port number between 1 and 65535")
            }
            return value
        }
        func ports(_ part: Substring, what: String) throws -> ClosedRange<UInt16> {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
            guard bounds.count <= 2 else {
                throw NetworkError.invalidPortSpec(text, reason: "the \(what) '\(part)' is not a port or a range FIRST-LAST")
            }
            let first = try number(bounds[0], what: what)
            let last = bounds.count == 2 ? try number(bounds[1], what: what) : first
            guard first <= last else {
                throw NetworkError.invalidPortSpec(text, reason: "the \(what) range '\(part)' ends before it starts")
            }
            guard Int(last) - Int(first) < maximumRange else {
                throw NetworkError.invalidPortSpec(text, reason: "the \(what) range '\(part)' has more than \(maximumRange) ports")
            }
            return first...last
        }
        var hostIP = ""
        var host: ClosedRange<UInt16>?
        switch parts.count {
        case 1:
            break
        case 2:
            host = try ports(parts[0], what: "host port")
        case 3 where ipv6 != nil:
            hostIP = ipv6?.description ?? ""
            if !parts[1].isEmpty { host = try ports(parts[1], what: "host port") }
        case 3:
            guard let address = IPv4Address(parts[0]) else {
                throw NetworkError.invalidPortSpec(text, reason: "the host address '\(parts[0])' is not an IPv4 address")
            }
            hostIP = address.description == "0.0.0.0" ? "" : address.description
            if !parts[1].isEmpty { host = try ports(parts[1], what: "host port") }
        default:
            throw NetworkError.invalidPortSpec(text, reason: "too many ':'-separated parts")
        }
        let container = try ports(parts[parts.count - 1], what: "container port")
        guard let host else {
            return container.map { PortMapping(hostIP: hostIP, hostPort: 0, containerPort: $0, proto: proto) }
        }
        if container.count == 1 {
            return [
                PortMapping(
                    hostIP: hostIP, hostPort: host.lowerBound, hostPortEnd: host.count > 1 ? host.upperBound : nil,
                    containerPort: container.lowerBound, proto: proto)
            ]
        }
        guard host.count == container.count else {
            throw NetworkError.invalidPortSpec(
                text,
                reason:
                    "the host range has \(host.count) ports and the container range \(container.count): give ranges of the same size, or one container port"
            )
        }
        return zip(host, container).map { PortMapping(hostIP: hostIP, hostPort: $0, containerPort: $1, proto: proto) }
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
            if !result.contains(where: { $0.containerPort == mapping.containerPort && $0.proto == mapping.proto }) {
                result.append(mapping)
            }
        }
        return result
    }

    /// Whether the host address is an IPv6 one (published by the monitor's proxy, not portmap).
    public var isIPv6: Bool { hostIP.contains(":") }

    /// The host address as docker prints it with a port: `0.0.0.0`, `127.0.0.1`, `[::1]`.
    public var hostAddressText: String { hostIP.isEmpty ? "0.0.0.0" : (isIPv6 ? "[" + hostIP + "]" : hostIP) }

    /// docker ps's form: `0.0.0.0:8080->80/tcp` (`0.0.0.0:8000-8010->80/tcp` before a port was
    /// chosen), `[::1]:8080->80/tcp`.
    public var description: String {
        let host = hostPortEnd.map { "\(hostPort)-\($0)" } ?? "\(hostPort)"
        return "\(hostAddressText):\(host)->\(containerPort)/\(proto)"
    }
}

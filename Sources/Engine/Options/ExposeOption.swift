/// `--expose PORT[/PROTO]` and ranges (`8000-8002/udp`), as the image's ExposedPorts keys
/// ("80/tcp").
public enum ExposeOption {
    public static func parse(_ values: [String]) throws(EngineError) -> [String] {
        var result: [String] = []
        for value in values {
            let parts = value.split(separator: "/", maxSplits: 1).map(String.init)
            let proto = parts.count > 1 ? parts[1].lowercased() : "tcp"
            guard ["tcp", "udp", "sctp"].contains(proto), let ports = parts.first else {
                throw .invalidOption("invalid --expose '\(value)': use PORT[/tcp|udp|sctp] or FIRST-LAST[/PROTO]")
            }
            let bounds = ports.split(separator: "-", maxSplits: 1).map { UInt16($0) }
            guard let low = bounds.first ?? nil, let high = bounds.count > 1 ? bounds[1] : low, low > 0, low <= high,
                Int(high) - Int(low) < 65536
            else { throw .invalidOption("invalid --expose '\(value)': ports are 1 to 65535, FIRST-LAST with FIRST <= LAST") }
            for port in low...high { result.append("\(port)/\(proto)") }
        }
        return result
    }
}

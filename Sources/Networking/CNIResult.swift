import JSON

/// The parts of a CNI ADD result (spec 1.0.0: `interfaces`, `ips`) that skiff shows and writes
/// into the container's /etc/hosts: the container interface's address, gateway and MAC.
public struct CNIResult: Sendable, Equatable {
    public var address: IPv4Address
    public var prefixLength: Int
    public var gateway: String?
    public var macAddress: String?
    /// The first IPv6 address of the container side, on a network with `--ipv6`.
    public var ipv6Address: IPv6Address?
    public var ipv6PrefixLength: Int?
    public var ipv6Gateway: String?

    /// Reads the first IPv4 address whose interface is inside the sandbox (the container side).
    public init(parsing value: JSONValue, plugin: String) throws {
        guard case .array(let ips)? = value["ips"], !ips.isEmpty else {
            throw NetworkError.badPluginResult(plugin: plugin, reason: "it has no \"ips\"")
        }
        var interfaces: [JSONValue] = []
        if case .array(let list)? = value["interfaces"] { interfaces = list }
        for ip in ips {
            guard case .string(let cidr)? = ip["address"] else { continue }
            let parts = cidr.split(separator: "/")
            guard parts.count == 2, let address = IPv6Address(parts[0]), let prefix = Int(parts[1]) else { continue }
            ipv6Address = address
            ipv6PrefixLength = prefix
            if case .string(let text)? = ip["gateway"] { ipv6Gateway = text }
            break
        }
        for ip in ips {
            guard case .string(let cidr)? = ip["address"] else { continue }
            let parts = cidr.split(separator: "/")
            guard parts.count == 2, let address = IPv4Address(parts[0]), let prefix = Int(parts[1]) else { continue }
            var mac: String?
            if case .number(let number)? = ip["interface"], let index = number.integer(as: Int.self), interfaces.indices.contains(index),
                case .string(let text)? = interfaces[index]["mac"]
            {
                mac = text
            }
            var gateway: String?
            if case .string(let text)? = ip["gateway"] { gateway = text }
            self.address = address
            self.prefixLength = prefix
            self.gateway = gateway
            self.macAddress = mac
            return
        }
        throw NetworkError.badPluginResult(plugin: plugin, reason: "it has no IPv4 address")
    }

    /// The error a failed plugin prints on stdout: `{"code": N, "msg": "...", "details": "..."}`.
    public static func errorMessage(_ output: [UInt8]) -> String? {
        guard let value = try? JSONValue.parse(output), case .string(let message)? = value["msg"] else { return nil }
        if case .string(let details)? = value["details"], !details.isEmpty { return message + ": " + details }
        return message
    }
}

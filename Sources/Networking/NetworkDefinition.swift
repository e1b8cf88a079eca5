/// A user-visible network (`skiff network create`), stored as `<root>/networks/<name>.json`:
/// a Linux bridge with an IPv4 subnet (and with `--ipv6` an IPv6 one) whose addresses host-local
/// IPAM hands out.
public struct NetworkDefinition: Codable, Sendable, Equatable {
    public var name: String
    public var id: String
    public var driver: String
    public var subnet: String
    public var gateway: String
    /// The host's bridge interface. Interface names are host-global, so it is derived from the
    /// store root and the network name (see `NetworkStore.bridgeName`).
    public var bridge: String
    public var created: String
    /// `--label KEY=VALUE` of `network create` (docker's; compose finds its networks by them).
    public var labels: [String: String]?
    /// `--ipv6`: the IPv6 subnet and gateway besides the IPv4 ones (dual stack); nil for an
    /// IPv4-only network (and in definitions written before IPv6).
    public var subnet6: String?
    public var gateway6: String?

    /// `--internal`: no traffic between the network and anything beyond its bridge (docker's
    /// internal network: no masquerade, forwarding dropped both ways); the host still reaches it.
    public var `internal`: Bool?
    /// `--opt com.docker.network.driver.mtu=N`: the MTU of the bridge and the containers' ends.
    public var mtu: Int?

    public var enableIPv6: Bool { subnet6 != nil }
    public var isInternal: Bool { `internal` ?? false }

    /// The driver options as docker's `network inspect` shows them.
    public var driverOptions: [String: String] {
        var options = ["com.docker.network.bridge.name": bridge]
        if let mtu { options["com.docker.network.driver.mtu"] = String(mtu) }
        return options
    }

    public init(name: String, id: String, subnet: String, gateway: String, bridge: String, created: String) {
        self.name = name
        self.id = id
        self.driver = "bridge"
        self.subnet = subnet
        self.gateway = gateway
        self.bridge = bridge
        self.created = created
    }
}

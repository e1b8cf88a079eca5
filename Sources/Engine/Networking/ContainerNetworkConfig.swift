import Networking

/// What a container asked of the network at create time, kept in its record so that each start
/// (by its monitor) connects it the same way.
public struct ContainerNetworkConfig: Codable, Sendable, Equatable {
    /// none, host, bridge, or `container:ID` (the namespace of that container, joined at each start).
    public var mode: String
    /// The bridge network's name (bridge mode only).
    public var network: String?
    /// `-p` as given; a host port 0 is chosen at each start.
    public var ports: [PortMapping]
    public var hostname: String
    /// `--add-host` entries (NAME:IP), rewritten into /etc/hosts with the address at each start.
    public var extraHosts: [String]
    /// `--network-alias` names the other containers of a user network resolve it by, besides its
    /// name and short ID (nil in records written before aliases existed).
    public var aliases: [String]?
    /// Networks added by `skiff network connect` (eth1, eth2, ... at each start, in this order);
    /// nil when there are none.
    public var connected: [ConnectedNetwork]?
    /// `--ip` on the network it was created on (nil: IPAM chooses).
    public var ipAddress: String?
    /// `--mac-address` on the network it was created on (nil: the bridge plugin chooses).
    public var macAddress: String?

    public init(
        mode: String, network: String?, ports: [PortMapping], hostname: String, extraHosts: [String],
        aliases: [String] = []
    ) {
        self.mode = mode
        self.network = network
        self.ports = ports
        self.hostname = hostname
        self.extraHosts = extraHosts
        self.aliases = aliases.isEmpty ? nil : aliases
    }

    /// Every network the container is on, the one it was created on first (when it is still
    /// connected to it).
    public var allNetworks: [ConnectedNetwork] {
        (network.map { [ConnectedNetwork(name: $0, aliases: aliases ?? [], ipAddress: ipAddress)] } ?? []) + (connected ?? [])
    }

    /// The ID of the container whose network namespace this one joins (`--network container:NAME`).
    public var joinedContainer: String? {
        mode.hasPrefix("container:") ? String(mode.dropFirst("container:".count)) : nil
    }

    /// Whether the container is on `name`.
    public func isConnected(to name: String) -> Bool { allNetworks.contains { $0.name == name } }
}

/// A network a container was connected to after its creation (`skiff network connect`), kept in
/// its record so that each start (and each restart) attaches it again.
public struct ConnectedNetwork: Codable, Sendable, Equatable {
    public var name: String
    /// `--alias` names its peers on this network resolve it by, besides its name and short ID.
    public var aliases: [String]
    /// `--ip`: the address it gets on this network at each attach (nil: IPAM chooses).
    public var ipAddress: String?

    public init(name: String, aliases: [String], ipAddress: String? = nil) {
        self.name = name
        self.aliases = aliases
        self.ipAddress = ipAddress
    }
}

/// A running container's place on its bridge network, as `inspect` and `ps` show it.
public struct ContainerNetworkSettings: Codable, Sendable, Equatable {
    public var network: String
    public var networkID: String
    public var ipAddress: String?
    public var prefixLength: Int?
    public var gateway: String?
    public var macAddress: String?
    /// On a network with `--ipv6` (docker's GlobalIPv6Address, GlobalIPv6PrefixLen, IPv6Gateway).
    public var ipv6Address: String?
    public var ipv6PrefixLength: Int?
    public var ipv6Gateway: String?
    /// Published ports with the host ports actually bound.
    public var ports: [PortMapping]
}

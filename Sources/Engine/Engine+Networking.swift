#if canImport(Glibc)
import Glibc
#endif
import LinuxSupport
import Networking

/// The engine's side of container networking: checks at create, connect/disconnect by the
/// monitor around the container's life (and again, idempotently, by `rm`), and the network
/// commands, which refuse to remove a network a container uses.
extension Engine {
    /// Where containers' network namespaces are bind-mounted: beside the runtime's state
    /// (`/run/skiff/netns` by default).
    public var netnsRoot: String {
        let parent = runtimeRoot.lastIndex(of: "/").map { String(runtimeRoot[..<$0]) } ?? ""
        return parent + "/netns"
    }

    public var networks: NetworkStore { NetworkStore(root: store.root) }

    public func netnsPath(for id: String) -> String { netnsRoot + "/" + id }
    func networkStatePath(for id: String) -> String { store.directory(for: id) + "/network.json" }

    /// Validates the network options before anything is made: the network exists (the default
    /// one is created), ports are free, --add-host and --dns are well-formed.
    func checkNetworkOptions(_ options: RunOptions) throws {
        _ = try options.addHosts.map(HostFiles.ExtraHost.init(parsing:))
        _ = try HostFiles.resolvConf(host: nil, dns: options.dns, search: options.dnsSearch, privateNetwork: true)
        switch options.network {
        case .none, .host:
            if !options.ports.isEmpty {
                throw EngineError.invalidOption("-p needs a bridge network: ports cannot be published with --network \(options.network.name)")
            }
        case .bridge(let name):
            _ = try networks.resolve(name)
            try PortReservation.checkAvailable(options.ports)
        }
    }

    /// Writes the container's /etc/hosts and /etc/resolv.conf sources into its directory.
    func writeHostFiles(directory: String, name: String, hostname: String, options: RunOptions) throws {
        let extra = try options.addHosts.map(HostFiles.ExtraHost.init(parsing:))
        var hosts = HostFiles.hosts(hostname: hostname, name: name, address: nil, extraHosts: extra)
        if options.network == .host, let host = try? FileIO.readString("/etc/hosts") {
            hosts = host + extra.map { "\($0.address)\t\($0.name)\n" }.joined()
        }
        try FileIO.write(directory + "/hosts", Array(hosts.utf8))
        let resolv = try HostFiles.resolvConf(host: try? FileIO.readString("/etc/resolv.conf"), dns: options.dns,
                                              search: options.dnsSearch, privateNetwork: options.network != .host)
        try FileIO.write(directory + "/resolv.conf", Array(resolv.utf8))
    }

    /// Called by the monitor before the runtime creates the container: reserves the published
    /// ports, makes the namespace and runs the CNI chain, writes /etc/hosts with the address and
    /// records it. Returns the port reservation the monitor holds while the container runs.
    func connectNetwork(_ record: EngineContainer) throws -> PortReservation? {
        guard let config = record.network, let name = config.network else { return nil }
        // A previous run whose monitor was killed may have left its attachment.
        try disconnectNetwork(id: record.id)
        let reservation = try PortReservation.reserve(config.ports)
        let attachment = try ContainerNetworking(store: networks).attach(
            containerID: record.id, network: name, netns: netnsPath(for: record.id), ports: reservation.mappings,
            statePath: networkStatePath(for: record.id))
        do {
            let extra = config.extraHosts.compactMap { try? HostFiles.ExtraHost(parsing: $0) }
            let hosts = HostFiles.hosts(hostname: config.hostname, name: record.name, address: attachment.ipAddress, extraHosts: extra)
            try FileIO.writeAtomically(store.directory(for: record.id) + "/hosts", Array(hosts.utf8), mode: 0o644)
            try store.update(id: record.id) {
                $0.networkSettings = ContainerNetworkSettings(
                    network: attachment.network, networkID: attachment.networkID, ipAddress: attachment.ipAddress,
                    prefixLength: attachment.prefixLength, gateway: attachment.gateway, macAddress: attachment.macAddress,
                    ports: attachment.ports)
            }
        } catch {
            try? disconnectNetwork(id: record.id)
            throw error
        }
        return reservation
    }

    /// Tears the container's network down (CNI DEL, namespace); nothing to do when it has none.
    public func disconnectNetwork(id: String) throws {
        try ContainerNetworking(store: networks).detach(statePath: networkStatePath(for: id))
        NetworkNamespace.remove(at: netnsPath(for: id))
        _ = try? store.update(id: id) { $0.networkSettings = nil }
    }

    /// `skiff network rm`: refused while a container of this store is on the network.
    public func removeNetwork(_ name: String) throws {
        _ = try networks.definition(name)
        let users = store.all().filter { $0.network?.network == name }.map(\.name)
        guard users.isEmpty else { throw NetworkError.networkInUse(name: name, containers: users) }
        try networks.remove(name)
    }
}

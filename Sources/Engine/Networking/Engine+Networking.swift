#if canImport(Glibc)
import Glibc
#endif
import LinuxSupport
import Networking

/// A CNI ADD running on another thread while the runtime creates the container (or, for a
/// container without networks, nothing to wait for).
final class PendingNetwork: Sendable {
    let reservation: PortReservation
    private let adds: BackgroundThread<[NetworkAttachment]>?

    init(reservation: PortReservation, adds: BackgroundThread<[NetworkAttachment]>?) {
        self.reservation = reservation
        self.adds = adds
    }

    /// The ADDs' outcome, once they are over.
    func wait() -> Result<[NetworkAttachment], any Error> {
        guard let adds else { return .success([]) }
        return Result { try adds.value() }
    }
}

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

    /// One state file per attachment: `network.json` for the network the container was created
    /// on, `network-NAME.json` for each one `network connect` added.
    func networkStatePath(for id: String, network: String, config: ContainerNetworkConfig) -> String {
        config.network == network ? networkStatePath(for: id) : store.directory(for: id) + "/network-" + network + ".json"
    }

    /// The container's attachment state files, those of `network connect` first (torn down before
    /// the first network's, so the interfaces go in the reverse order they came).
    func networkStatePaths(for id: String) -> [String] {
        let directory = store.directory(for: id)
        let names = ((try? FileIO.listDirectory(directory)) ?? []).filter { $0.hasPrefix("network-") && $0.hasSuffix(".json") }.sorted()
        return (names.map { directory + "/" + $0 } + [networkStatePath(for: id)]).filter(FileIO.exists)
    }

    /// Validates the network options before anything is made: the network exists (the default
    /// one is created), ports are free, --add-host and --dns are well-formed.
    func checkNetworkOptions(_ options: RunOptions) throws {
        try Self.checkNetworkModeConflicts(options)
        _ = try options.addHosts.map(HostFiles.ExtraHost.init(parsing:))
        _ = try HostFiles.resolvConf(host: nil, dns: options.dns, search: options.dnsSearch, privateNetwork: true)
        for alias in options.networkAliases where !HostFiles.isValidAlias(alias) { throw HostFilesError.invalidAlias(alias) }
        if !options.networkAliases.isEmpty, options.network.userNetwork == nil {
            // docker's rule: names resolve only on user networks.
            throw EngineError.invalidOption(
                "--network-alias needs a user network (skiff network create NAME, then --network NAME): "
                    + "containers on '\(options.network.name)' do not resolve each other's names")
        }
        switch options.network {
        case .container: _ = try networkOwner(options)
        case .none, .host:
            if !options.ports.isEmpty {
                throw EngineError.invalidOption(
                    "-p needs a bridge network: ports cannot be published with --network \(options.network.name)")
            }
        case .bridge(let name):
            _ = try networks.resolve(name)
            try PortReservation.checkAvailable(options.ports)
        }
    }

    /// Writes the container's /etc/hosts and /etc/resolv.conf sources into its directory.
    func writeHostFiles(directory: String, name: String, hostname: String, options: RunOptions) throws {
        // A joiner of another container's network shares that container's files.
        if case .container = options.network { return }
        let extra = try options.addHosts.map(HostFiles.ExtraHost.init(parsing:))
        var hosts = HostFiles.hosts(hostname: hostname, name: name, address: nil, extraHosts: extra)
        if options.network == .host, let host = try? FileIO.readString("/etc/hosts") {
            hosts = host + extra.map { "\($0.address)\t\($0.name)\n" }.joined()
        }
        try FileIO.write(directory + "/hosts", Array(hosts.utf8))
        let host = try? FileIO.readString("/etc/resolv.conf")
        if options.network.userNetwork != nil, options.vm == nil {
            // docker's embedded DNS (served by the monitor): names of the network's containers,
            // the rest forwarded to these resolvers.
            let embedded = try HostFiles.embeddedDNSResolvConf(host: host, dns: options.dns, search: options.dnsSearch)
            try FileIO.write(directory + "/" + Self.dnsUpstreamFile, Array(embedded.upstream.utf8), mode: 0o600)
            try FileIO.write(directory + "/resolv.conf", Array(embedded.resolvConf.utf8))
            return
        }
        let resolv = try HostFiles.resolvConf(
            host: host, dns: options.dns, search: options.dnsSearch, privateNetwork: options.network != .host)
        try FileIO.write(directory + "/resolv.conf", Array(resolv.utf8))
    }

    /// Called by the monitor before the runtime creates the container: reserves the published
    /// ports and makes the namespace (so the runtime can join it), then runs the CNI ADDs (its
    /// first network as eth0, those added by `network connect` as eth1, eth2, ...) on another
    /// thread while the runtime creates the container; `finishConnect` waits for them before the
    /// container's program starts. nil when the container has no bridge network.
    func beginConnect(_ record: EngineContainer) throws -> PendingNetwork? {
        if let owner = record.network?.joinedContainer {
            try joinOwnerNetwork(record, owner: owner)
            return nil
        }
        guard let config = record.network, config.mode == "bridge" else { return nil }
        // A previous run whose monitor was killed may have left its attachments.
        try disconnectNetwork(id: record.id)
        let networking = ContainerNetworking(store: networks)
        let netns = netnsPath(for: record.id)
        let reservation = try PortReservation.reserve(config.network == nil ? [] : config.ports)
        let networks = config.allNetworks
        guard let first = networks.first else {
            // Disconnected from every network: the runtime joins a namespace with only loopback.
            try NetworkNamespace.create(at: netns)
            return PendingNetwork(reservation: reservation, adds: nil)
        }
        let prepared = try networking.prepare(
            containerID: record.id, network: first.name, netns: netns, ports: reservation.mappings,
            statePath: networkStatePath(for: record.id, network: first.name, config: config),
            address: first.ipAddress, mac: first.name == config.network ? config.macAddress : nil)
        let more = networks.dropFirst().enumerated().map {
            (
                name: $0.element.name, ifname: "eth\($0.offset + 1)", address: $0.element.ipAddress,
                statePath: networkStatePath(for: record.id, network: $0.element.name, config: config)
            )
        }
        let id = record.id
        return PendingNetwork(
            reservation: reservation,
            adds: BackgroundThread {
                var attachments = [try networking.complete(prepared)]
                for network in more {
                    let next = try networking.prepare(
                        containerID: id, network: network.name, netns: netns, ports: [],
                        statePath: network.statePath, ifname: network.ifname, createNamespace: false,
                        address: network.address)
                    attachments.append(try networking.complete(next))
                }
                return attachments
            })
    }

    /// Waits for the ADDs, writes /etc/hosts (in place: the runtime has bind-mounted the file)
    /// with the container's address and records it all. Returns the ports the monitor holds meanwhile.
    func finishConnect(_ pending: PendingNetwork, record: EngineContainer) throws -> PortReservation {
        let attachments = try pending.wait().get()
        guard let config = record.network else { return pending.reservation }
        // -p [::1]:H:C: relayed by this monitor to the container's address on its first network.
        try pending.reservation.startProxy(to: attachments.first { $0.network == config.network }?.ipAddress)
        try writeHostsFile(record: record, attachments: attachments)
        try store.update(id: record.id) {
            let all = attachments.map(Self.settings)
            $0.networkSettings = all.first { $0.network == config.network }
            let others = all.filter { $0.network != config.network }
            $0.connectedNetworkSettings = others.isEmpty ? nil : others
        }
        return pending.reservation
    }

    /// The container's /etc/hosts for its attachments: on user networks, our entry goes into the
    /// other members' /etc/hosts and theirs into ours; otherwise its own address only.
    func writeHostsFile(record: EngineContainer, attachments: [NetworkAttachment]) throws {
        guard let config = record.network else { return }
        let hostsPath = store.directory(for: record.id) + "/hosts"
        let named = attachments.filter { NetworkPeers.resolvesNames($0.network) && $0.ipAddress != nil }
        for attachment in named {
            guard let address = attachment.ipAddress else { continue }
            let aliases = config.allNetworks.first { $0.name == attachment.network }?.aliases ?? []
            var peer = NetworkPeer(
                containerID: record.id, address: address, names: Self.peerNames(record, aliases: aliases),
                hostsPath: hostsPath, hostname: config.hostname, name: record.name, extraHosts: config.extraHosts)
            peer.ipv6Address = attachment.ipv6Address
            try NetworkPeers(store: networks).join(network: attachment.network, peer)
        }
        if named.isEmpty {
            let extra = config.extraHosts.compactMap { try? HostFiles.ExtraHost(parsing: $0) }
            let hosts = HostFiles.hosts(
                hostname: config.hostname, name: record.name, address: attachments.first?.ipAddress, extraHosts: extra)
            try FileIO.write(hostsPath, Array(hosts.utf8), mode: 0o644)
        }
    }

    static func settings(_ attachment: NetworkAttachment) -> ContainerNetworkSettings {
        ContainerNetworkSettings(
            network: attachment.network, networkID: attachment.networkID, ipAddress: attachment.ipAddress,
            prefixLength: attachment.prefixLength, gateway: attachment.gateway, macAddress: attachment.macAddress,
            ipv6Address: attachment.ipv6Address, ipv6PrefixLength: attachment.ipv6PrefixLength, ipv6Gateway: attachment.ipv6Gateway,
            ports: attachment.ports)
    }

    /// The names the other containers of a user network resolve this one by (docker's): its name,
    /// its short ID and its --network-alias names.
    static func peerNames(_ record: EngineContainer, aliases: [String]? = nil) -> [String] {
        [record.name, String(record.id.prefix(12))] + (aliases ?? record.network?.aliases ?? [])
    }

    /// Tears the container's network down (CNI DEL of every attachment, namespace); nothing to
    /// do when it has none. Every attachment is tried; the first failure is thrown at the end.
    public func disconnectNetwork(id: String) throws {
        let paths = networkStatePaths(for: id)
        guard !paths.isEmpty || FileIO.exists(netnsPath(for: id)) else { return }
        let networking = ContainerNetworking(store: networks)
        var failure: (any Error)?
        for path in paths {
            do { try networking.detach(statePath: path, removeNamespace: false) } catch { failure = failure ?? error }
        }
        NetworkNamespace.remove(at: netnsPath(for: id))
        if let failure { throw failure }
        _ = try? store.update(id: id) {
            $0.networkSettings = nil
            $0.connectedNetworkSettings = nil
        }
    }

    /// Where the network state of an --rm container waits while its monitor finishes the CNI DEL
    /// after the container was removed (so `run --rm` need not wait for the plugins).
    var pendingTeardownDirectory: String { store.root + "/networks/teardown" }

    /// For the monitor of an --rm container, as soon as its program exits: moves the network
    /// state out of the container's directory (which the removal deletes) and runs the teardown
    /// on another thread. A teardown its monitor did not finish (kill -9) is finished by
    /// `finishPendingTeardowns`, which `network rm` and `container prune` call.
    func beginDetachedTeardown(id: String) -> BackgroundThread<Void>? {
        let states = networkStatePaths(for: id)
        guard !states.isEmpty, (try? FileIO.makeDirectories(pendingTeardownDirectory, mode: 0o700)) != nil else { return nil }
        var pending: [String] = []
        for state in states {
            let name = String(state.split(separator: "/").last ?? "network.json")
            let path = pendingTeardownDirectory + "/" + id + "." + name
            if Glibc.rename(state, path) == 0 { pending.append(path) }
        }
        guard !pending.isEmpty else { return nil }
        let paths = pending
        let networking = ContainerNetworking(store: networks)
        let netns = netnsPath(for: id)
        return BackgroundThread<Void> {
            var failure: (any Error)?
            for path in paths {
                do {
                    try networking.detach(statePath: path, removeNamespace: false)
                    unlink(path + ".lock")
                } catch { failure = failure ?? error }
            }
            NetworkNamespace.remove(at: netns)
            if let failure { throw failure }
        }
    }

    /// Finishes the teardowns that monitors of removed --rm containers did not (waiting for any
    /// still running).
    public func finishPendingTeardowns() {
        let directory = pendingTeardownDirectory
        let networking = ContainerNetworking(store: networks)
        for name in (try? FileIO.listDirectory(directory)) ?? [] where name.hasSuffix(".json") {
            let path = directory + "/" + name
            if (try? networking.detach(statePath: path)) != nil { unlink(path + ".lock") }
        }
    }

    /// Waits until the container is gone: its whole directory, not only the record, which the
    /// removal deletes first (its monitor removes an --rm container after the exit; the network
    /// teardown finishes after that). False after `timeout` seconds.
    public func waitRemoved(_ id: String, timeout: Double = 30) -> Bool {
        let deadline = MonotonicClock.seconds() + timeout
        while FileIO.exists(store.directory(for: id)) {
            if MonotonicClock.seconds() > deadline { return false }
            usleep(1000)
        }
        return true
    }

    /// `skiff network rm`: refused while a container of this store is on the network.
    public func removeNetwork(_ name: String) throws {
        let definition = try networks.definition(name)
        finishPendingTeardowns()
        let users = store.all().filter { $0.network?.isConnected(to: name) ?? false }.map(\.name)
        guard users.isEmpty else { throw NetworkError.networkInUse(name: name, containers: users) }
        try networks.remove(name)
        events.record(.network("destroy", definition))
    }
}

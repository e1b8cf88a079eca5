#if canImport(Glibc)
import Glibc
#endif
import ImageStore
import LinuxSupport
import Networking

/// `skiff network connect` and `disconnect` (docker's): a network added to or taken from a
/// container's record, and, while it runs, the interface (eth1, eth2, ...) added or removed at
/// once through the CNI chain of that network. Each start attaches every recorded network again.
extension Engine {
    /// Adds `network` to the container: recorded (a created container gets it at its start) and,
    /// when it runs, attached now as the next free ethN with its name and `aliases` resolving for
    /// that network's members; `ipAddress` (--ip) is the address it gets there each time.
    public func connectNetwork(_ network: String, container reference: String, aliases: [String] = [], ipAddress: String? = nil) throws {
        let record = try store.resolve(reference)
        let definition = try networks.resolve(network)
        try withConnectLock(record.id) {
            guard let current = try? store.load(id: record.id), let config = current.network else {
                throw EngineError.noSuchContainer(reference)
            }
            try Self.checkConnectable(config, network: definition.name, container: current.name)
            for alias in aliases where !HostFiles.isValidAlias(alias) { throw HostFilesError.invalidAlias(alias) }
            if !aliases.isEmpty, !NetworkPeers.resolvesNames(definition.name) {
                throw NetworkError.cannotConnect("network-scoped alias is supported only for containers in user defined networks")
            }
            if let ipAddress { try ContainerNetworking.checkAddress(ipAddress, in: definition) }
            let entry = ConnectedNetwork(name: definition.name, aliases: aliases, ipAddress: ipAddress)
            guard
                let updated = try store.update(
                    id: record.id,
                    {
                        let connected = ($0.network?.connected ?? []) + [entry]
                        $0.network?.connected = connected
                    })
            else {
                throw EngineError.noSuchContainer(reference)
            }
            guard liveStatus(updated).isRunning else { return }
            do {
                try attachRunning(updated, network: definition.name, address: ipAddress)
            } catch {
                _ = try? store.update(id: record.id) {
                    $0.network?.connected?.removeAll { $0.name == definition.name }
                    if $0.network?.connected?.isEmpty ?? false { $0.network?.connected = nil }
                }
                throw error
            }
        }
        events.record(.network("connect", definition, container: record.id))
    }

    /// docker's refusals: --network host or none, and a network the container is already on.
    public static func checkConnectable(_ config: ContainerNetworkConfig, network: String, container: String) throws {
        // A joiner of another container's namespace is refused as --network host is (docker's words).
        switch config.joinedContainer == nil ? config.mode : "host" {
        case "host":
            throw NetworkError.cannotConnect(
                "container sharing network namespace with another container or host cannot be connected to any other network")
        case "none":
            throw NetworkError.cannotConnect(
                "container cannot be connected to multiple networks with one of the networks in private (none) mode")
        default:
            if config.isConnected(to: network) { throw NetworkError.alreadyConnected(container: container, network: network) }
        }
    }

    /// The lowest ethN none of the container's attachments uses.
    public static func freeInterface(used: Set<String>) -> String {
        var index = 0
        while used.contains("eth\(index)") { index += 1 }
        return "eth\(index)"
    }

    /// CNI ADD of one more network into the running container's namespace, then its names
    /// resolving and its settings recorded.
    private func attachRunning(_ record: EngineContainer, network: String, address: String?) throws {
        guard let config = record.network else { return }
        let networking = ContainerNetworking(store: networks)
        let states = networkStatePaths(for: record.id)
        let ifname = Self.freeInterface(used: Set(states.compactMap { ContainerNetworking.load(statePath: $0)?.ifname }))
        let statePath = networkStatePath(for: record.id, network: network, config: config)
        let prepared = try networking.prepare(
            containerID: record.id, network: network, netns: netnsPath(for: record.id), ports: [],
            statePath: statePath,
            ifname: ifname, createNamespace: false, address: address)
        let attachment = try networking.complete(prepared)
        let all = networkStatePaths(for: record.id).compactMap { ContainerNetworking.load(statePath: $0) }
        do {
            try writeHostsFile(record: record, attachments: all)
        } catch {
            try? networking.detach(statePath: statePath, removeNamespace: false)
            throw error
        }
        try store.update(id: record.id) {
            $0.connectedNetworkSettings = ($0.connectedNetworkSettings ?? []).filter { $0.network != network } + [Self.settings(attachment)]
        }
    }

    /// Takes `network` from the container: from its record (later starts do without it) and, when
    /// attached, the interface and address (CNI DEL) and its names on that network. With `force`
    /// a network that no longer exists, or the container is not on, is no error.
    public func disconnectNetwork(_ network: String, container reference: String, force: Bool = false) throws {
        let record = try store.resolve(reference)
        if !force { _ = try networks.definition(network) }
        try withConnectLock(record.id) {
            guard let current = try? store.load(id: record.id), let config = current.network else {
                throw EngineError.noSuchContainer(reference)
            }
            if config.mode == "host" {
                throw NetworkError.cannotConnect("container cannot be disconnected from host network or connected to host network")
            }
            let statePath = networkStatePath(for: record.id, network: network, config: config)
            guard config.isConnected(to: network) || FileIO.exists(statePath) else {
                if force { return }
                throw NetworkError.notConnected(container: current.name, network: network)
            }
            // Recorded first: a restart from here on does not attach it again.
            guard
                let updated = try store.update(
                    id: record.id,
                    {
                        if $0.network?.network == network { $0.network?.network = nil }
                        $0.network?.connected?.removeAll { $0.name == network }
                        if $0.network?.connected?.isEmpty ?? false { $0.network?.connected = nil }
                    })
            else { throw EngineError.noSuchContainer(reference) }
            try ContainerNetworking(store: networks).detach(statePath: statePath, removeNamespace: false)
            _ = try? store.update(id: record.id) {
                if $0.networkSettings?.network == network { $0.networkSettings = nil }
                $0.connectedNetworkSettings?.removeAll { $0.network == network }
                if $0.connectedNetworkSettings?.isEmpty ?? false { $0.connectedNetworkSettings = nil }
            }
            // Its own /etc/hosts loses that network's address (and its peers, when no user network is left).
            if liveStatus(updated).isRunning {
                let left = networkStatePaths(for: record.id).compactMap { ContainerNetworking.load(statePath: $0) }
                try? writeHostsFile(record: updated, attachments: left)
            }
            if let definition = try? networks.definition(network) {
                events.record(.network("disconnect", definition, container: record.id))
            }
        }
    }

    /// connect and disconnect of one container take turns.
    private func withConnectLock<T>(_ id: String, _ body: () throws -> T) throws -> T {
        let lock = try FileLock(path: store.directory(for: id) + "/connect.lock", exclusive: true)
        defer { lock.unlock() }
        return try body()
    }
}

import Networking

extension Engine {
    /// `network prune`: removes every network no container is on (the default `bridge` stays),
    /// except those `keep` keeps (the prune filters). Returns the removed names.
    public func pruneNetworks(keep: (NetworkDefinition) -> Bool = { _ in false }) throws -> [String] {
        var removed: [String] = []
        for network in networks.all() where network.name != NetworkStore.defaultNetworkName && !keep(network) {
            do {
                try removeNetwork(network.name)
                removed.append(network.name)
            } catch NetworkError.networkInUse {
                continue
            }
        }
        return removed
    }
}

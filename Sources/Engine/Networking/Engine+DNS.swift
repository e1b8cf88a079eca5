import LinuxSupport
import Networking

extension Engine {
    /// The file in a container's directory naming the resolvers its embedded DNS forwards to
    /// (resolv.conf lines). Written at create for a container on a user network; its presence
    /// is what makes the monitor serve 127.0.0.11 for it.
    static let dnsUpstreamFile = "dns-upstream"

    /// Called by the monitor once the container's network is wired, before its program starts:
    /// serves docker's embedded DNS on 127.0.0.11:53 inside the container's network namespace
    /// (names of the containers on its user networks, the rest forwarded to the resolvers of its
    /// create). nil for a container without one (default bridge, none, host, micro-VM, or a
    /// record made before the embedded DNS).
    func startEmbeddedDNS(_ record: EngineContainer) throws -> EmbeddedDNS? {
        guard record.vm == nil, let config = record.network, config.mode == "bridge" else { return nil }
        let path = store.directory(for: record.id) + "/" + Self.dnsUpstreamFile
        guard FileIO.exists(path) else { return nil }
        let upstreams = DNSUpstream.parse(resolvConf: try FileIO.readString(path))
        let source = NetworkPeers.DNSNameSource(peers: NetworkPeers(store: networks), containerID: record.id)
        return try EmbeddedDNS.listen(netns: netnsPath(for: record.id), upstreams: upstreams, names: { source.names() })
    }
}

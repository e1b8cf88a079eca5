#if canImport(Glibc)
import Glibc
#endif
import LinuxSupport
import Networking

/// `--network container:NAME` (docker's): the container joins another one's network namespace
/// at each start, so it has no address, interface or published port of its own, and shares that
/// container's hostname, /etc/hosts and /etc/resolv.conf. The namespace is bind-mounted at the
/// joiner's own netns path while it runs (its spec joins that path), so the joiner keeps the
/// namespace when the other container stops, but not its network: the other's teardown removes
/// the interfaces, leaving loopback (docker's behaviour). Its start is refused while the other
/// container is not running, with docker's words.
extension Engine {
    /// docker's refusals for the options that would give a joining container network settings
    /// of its own, and --mac-address where there is no interface of the container's own.
    public static func checkNetworkModeConflicts(_ options: RunOptions) throws {
        if let mac = options.macAddress {
            switch options.network {
            case .bridge: _ = try MACAddress(parsing: mac)
            case .none, .host, .container:
                throw EngineError.invalidOption(
                    "conflicting options: mac-address and the network mode (--network \(options.network.name)): "
                        + "only a container with an interface of its own on a bridge network has a MAC address")
            }
        }
        guard case .container(let reference) = options.network else { return }
        func refuse(_ what: String) throws -> Never {
            throw EngineError.invalidOption(
                "conflicting options: \(what) and the container type network mode (--network container:\(reference)): "
                    + "the container uses the other container's network settings; drop the option")
        }
        if reference.isEmpty { throw EngineError.invalidOption("--network container: needs a container's name or ID") }
        if options.vm != nil { try refuse("--vm (a micro-VM has its own network stack)") }
        if options.hostname != nil { try refuse("hostname") }
        if !options.ports.isEmpty || options.publishAll { try refuse("port publishing") }
        if !options.expose.isEmpty { try refuse("port exposing") }
        if !options.dns.isEmpty || !options.dnsSearch.isEmpty { try refuse("dns") }
        if !options.addHosts.isEmpty { try refuse("custom host-to-IP mapping") }
        if !options.links.isEmpty { try refuse("links") }
        if !options.networkAliases.isEmpty { try refuse("network-alias") }
        if options.ipAddress != nil { try refuse("ip") }
        // Not docker's rule: a joiner's net.* sysctls would change the other container's
        // namespace, the host's when that one runs with --network host.
        if let sysctl = options.sysctls.first(where: { $0.hasPrefix("net.") }) {
            throw EngineError.invalidOption(
                "--sysctl \(sysctl) cannot be set with --network container:\(reference): it would change that container's network "
                    + "namespace (the host's when it runs with --network host); set it on that container")
        }
    }

    /// The container `--network container:NAME` names (it must exist; it runs at the joiner's
    /// start), nil for the other modes.
    func networkOwner(_ options: RunOptions) throws -> EngineContainer? {
        guard case .container(let reference) = options.network else { return nil }
        let owner = try store.resolve(reference)
        if owner.vm != nil {
            throw EngineError.invalidOption(
                "cannot join the network of \(owner.name): it runs in a micro-VM, whose network stack is inside its guest")
        }
        return owner
    }

    /// The container whose /etc/hosts and /etc/resolv.conf a joiner of `owner` shares: `owner`,
    /// or the one it joins in turn.
    func networkFilesOwner(_ owner: EngineContainer) -> EngineContainer {
        var current = owner
        for _ in 0..<16 {
            guard let next = current.network?.joinedContainer, let record = try? store.load(id: next) else { break }
            current = record
        }
        return current
    }

    /// For the monitor, before the runtime creates the container: the joined container's
    /// namespace bind-mounted at this container's netns path (which its spec joins).
    func joinOwnerNetwork(_ record: EngineContainer, owner id: String) throws {
        // A previous run whose monitor was killed may have left its mount.
        NetworkNamespace.remove(at: netnsPath(for: record.id))
        guard let owner = try? store.load(id: id) else {
            throw EngineError.startFailed("cannot join network of a removed container: \(id) (recreate this container)")
        }
        guard liveStatus(owner).isRunning, let pid = owner.pid, pid > 0 else {
            throw EngineError.startFailed("cannot join network of a non running container: \(owner.name)")
        }
        try NetworkNamespace.bind(from: "/proc/\(pid)/ns/net", at: netnsPath(for: record.id))
    }
}

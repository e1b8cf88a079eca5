#if canImport(Glibc)
import Glibc
#endif
import JSON
import LinuxSupport

/// A container's place on a network, written to its state file *before* anything is made (so
/// an interrupted setup is still torn down) and completed with the CNI result: the plugin chain
/// exactly as ADD ran it (DEL must see the same configuration), the namespace, and the address.
public struct NetworkAttachment: Codable, Sendable, Equatable {
    public var containerID: String
    public var network: String
    public var networkID: String
    public var netns: String
    public var ifname: String
    /// Each plugin's configuration, as JSON text.
    public var plugins: [String]
    /// The final ADD result as JSON text; nil until ADD succeeded.
    public var result: String?
    public var ports: [PortMapping]
    public var ipAddress: String?
    public var prefixLength: Int?
    public var gateway: String?
    public var macAddress: String?
    /// On a network with `--ipv6`: the container's IPv6 address, its prefix length and gateway.
    public var ipv6Address: String?
    public var ipv6PrefixLength: Int?
    public var ipv6Gateway: String?
    /// The address asked for (`network connect --ip`), nil when IPAM chooses.
    public var requestedAddress: String?
    /// The MAC address asked for (`--mac-address`), nil when the bridge plugin chooses.
    public var requestedMAC: String?

    var cniArgs: String? { Self.cniArgs(address: requestedAddress, mac: requestedMAC) }

    /// CNI_ARGS for what was asked: host-local reads IP, the bridge plugin MAC (each ignores the other's).
    public static func cniArgs(address: String?, mac: String?) -> String? {
        let args = (address.map { ["IP=" + $0] } ?? []) + (mac.map { ["MAC=" + $0] } ?? [])
        return args.isEmpty ? nil : (["IgnoreUnknown=1"] + args).joined(separator: ";")
    }
}

/// Connects containers to bridge networks and disconnects them: namespace, CNI chain, state file.
public struct ContainerNetworking: Sendable {
    public let store: NetworkStore
    public let runner: CNIRunner
    public let iptables: IPTables

    public init(store: NetworkStore, runner: CNIRunner = CNIRunner(), iptables: IPTables = IPTables()) {
        self.store = store
        self.runner = runner
        self.iptables = iptables
    }

    /// A container whose namespace exists and whose state file is written, waiting for ADD.
    public struct Prepared: Sendable {
        public var attachment: NetworkAttachment
        var plugins: [JSONValue]
        var statePath: String
        var createdNamespace: Bool
    }

    /// Creates the namespace at `netns`, runs the chain's ADD and records it all in `statePath`.
    /// `ports` are already reserved (no random port left). On failure everything made is undone.
    public func attach(
        containerID: String, network name: String, netns: String, ports: [PortMapping],
        statePath: String
    ) throws -> NetworkAttachment {
        try complete(prepare(containerID: containerID, network: name, netns: netns, ports: ports, statePath: statePath))
    }

    /// The first half of `attach`: the network made ready, the state file written, the namespace
    /// made (a runtime can join it from here on). Undone on failure.
    /// `ifname` is the interface inside (eth0 for the first network, eth1... for more); with
    /// `createNamespace` false the namespace at `netns` already exists (another attachment made it).
    public func prepare(
        containerID: String, network name: String, netns: String, ports: [PortMapping],
        statePath: String, ifname: String = "eth0", createNamespace: Bool = true,
        address: String? = nil, mac: String? = nil
    ) throws -> Prepared {
        let definition = try store.resolve(name)
        if let address { try Self.checkAddress(address, in: definition) }
        let mac = try mac.map { try MACAddress(parsing: $0).description }
        let firewall = try store.ensureReady(definition, iptables: iptables)
        let plugins = CNIConfig.plugins(network: definition, ipamDirectory: store.ipamDirectory, ports: ports, firewall: firewall)
        let attachment = NetworkAttachment(
            containerID: containerID, network: definition.name, networkID: definition.id, netns: netns, ifname: ifname,
            plugins: plugins.map { String(decoding: $0.serialized(), as: UTF8.self) }, result: nil, ports: ports,
            requestedAddress: address, requestedMAC: mac)
        try Self.save(attachment, to: statePath)
        do {
            if createNamespace { try NetworkNamespace.create(at: netns) }
        } catch {
            try? detach(statePath: statePath, removeNamespace: createNamespace)
            throw error
        }
        return Prepared(attachment: attachment, plugins: plugins, statePath: statePath, createdNamespace: createNamespace)
    }

    /// The second half of `attach`: the chain's ADD, its result recorded. Undone on failure.
    public func complete(_ prepared: Prepared) throws -> NetworkAttachment {
        var attachment = prepared.attachment
        do {
            // Held (and inherited by the plugins) for the whole ADD: a teardown after a kill -9
            // of the monitor waits for an orphaned plugin instead of racing it.
            try NetworkLock.withLock(prepared.statePath + ".lock", inheritable: true) {
                let result = try runner.add(
                    plugins: prepared.plugins, networkName: attachment.network,
                    target: .init(
                        containerID: attachment.containerID, netns: attachment.netns, ifname: attachment.ifname,
                        args: attachment.cniArgs))
                let parsed = try CNIResult(parsing: result, plugin: "bridge")
                attachment.result = String(decoding: result.serialized(), as: UTF8.self)
                attachment.ipAddress = parsed.address.description
                attachment.prefixLength = parsed.prefixLength
                attachment.gateway = parsed.gateway
                attachment.macAddress = parsed.macAddress
                attachment.ipv6Address = parsed.ipv6Address?.description
                attachment.ipv6PrefixLength = parsed.ipv6PrefixLength
                attachment.ipv6Gateway = parsed.ipv6Gateway
                try Self.save(attachment, to: prepared.statePath)
            }
            return attachment
        } catch {
            try? detach(statePath: prepared.statePath, removeNamespace: prepared.createdNamespace)
            throw error
        }
    }

    /// Runs the chain's DEL and removes the namespace and the state file. Idempotent: nothing to
    /// do without a state file. When DEL fails the state file stays, so a later call retries.
    /// `removeNamespace` false keeps the namespace (`network disconnect` of a running container,
    /// which keeps its other interfaces or at least its loopback).
    public func detach(statePath: String, removeNamespace: Bool = true) throws {
        guard FileIO.exists(statePath) else { return }
        // The monitor (at the container's exit) and `rm -f` may tear down at once: plugins such
        // as portmap fail when two DELs of one container race, so they take turns, and the
        // second finds nothing left to do.
        try NetworkLock.withLock(statePath + ".lock", inheritable: true) {
            try detachLocked(statePath: statePath, removeNamespace: removeNamespace)
        }
    }

    private func detachLocked(statePath: String, removeNamespace: Bool) throws {
        guard let bytes = try? FileIO.read(statePath) else { return }
        let attachment: NetworkAttachment
        do { attachment = try JSONDecoding.decode(NetworkAttachment.self, from: bytes) } catch {
            throw NetworkError.corruptState(path: statePath, reason: "\(error)")
        }
        var plugins: [JSONValue] = []
        for text in attachment.plugins {
            do { plugins.append(try JSONValue.parse(Array(text.utf8))) } catch {
                throw NetworkError.corruptState(path: statePath, reason: "plugin configuration: \(error)")
            }
        }
        let result = attachment.result.flatMap { try? JSONValue.parse(Array($0.utf8)) }
        // A namespace that was never mounted (the monitor was killed between making its file and
        // mounting it) is passed as none: the plugins then release the address and the host side
        // without entering it, as the CNI spec allows for DEL; given the plain file they fail
        // ("unknown FS magic") and `rm -f` could never finish.
        let netns = NetworkNamespace.isMounted(at: attachment.netns) ? attachment.netns : ""
        let target = CNIRunner.Target(containerID: attachment.containerID, netns: netns, ifname: attachment.ifname)
        // Its name stops resolving first, before its address can go to another container.
        if NetworkPeers.resolvesNames(attachment.network) {
            try? NetworkPeers(store: store).leave(network: attachment.network, containerID: attachment.containerID)
        }
        var failure: (any Error)?
        do { try runner.delete(plugins: plugins, networkName: attachment.network, result: result, target: target) } catch {
            failure = error
        }
        if removeNamespace { NetworkNamespace.remove(at: attachment.netns) }
        if let failure { throw failure }
        unlink(statePath)
    }

    /// An address asked for must be a host address of the network's subnet other than its gateway.
    public static func checkAddress(_ text: String, in network: NetworkDefinition) throws {
        guard let address = IPv4Address(text) else {
            throw NetworkError.cannotConnect("invalid IPv4 address: \(text)")
        }
        guard let subnet = try? IPv4Subnet(parsing: network.subnet), subnet.contains(address), address != subnet.network,
            address != subnet.broadcast, text != network.gateway
        else {
            throw NetworkError.cannotConnect(
                "no configured subnet contains IP address \(text): network \(network.name) is \(network.subnet) "
                    + "(gateway \(network.gateway)); choose a free host address in it")
        }
    }

    /// The attachment recorded at `statePath`, if any.
    public static func load(statePath: String) -> NetworkAttachment? {
        guard let bytes = try? FileIO.read(statePath) else { return nil }
        return try? JSONDecoding.decode(NetworkAttachment.self, from: bytes)
    }

    static func save(_ attachment: NetworkAttachment, to path: String) throws {
        try FileIO.writeAtomically(path, try JSONEncoding.encode(attachment, pretty: true), mode: 0o600)
    }
}

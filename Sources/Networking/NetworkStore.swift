#if canImport(Glibc)
import Glibc
#endif
import JSON
import LinuxSupport

/// The networks of one store root: their definitions under `<root>/networks/`, host-local IPAM
/// data under `<root>/networks/ipam/`, and the host-global bookkeeping that keeps networks of
/// different store roots (a user's /var/lib/skiff, each test's own root) from taking the same
/// subnet or bridge name: subnet claims under `/run/skiff/networks/claims/` and per-boot
/// readiness markers (the network's masquerade rule) under `/run/skiff/networks/ready/`.
public struct NetworkStore: Sendable {
    public static let defaultNetworkName = "bridge"
    public static let defaultStoreRoot = "/var/lib/skiff"
    /// The pool automatic subnets come from, as /24s: clear of docker's 172.17+/16s and
    /// podman's 10.88.0.0/16 and 10.89+.
    public static let poolStart = IPv4Address(0x0AD5_0000)  // 10.213.0.0
    public static let poolSize: UInt32 = 8 * 256  // 10.213.0.0/24 ... 10.220.255.0/24

    /// Whether `subnet` lies in the pool automatic subnets come from.
    public static func inPool(_ subnet: IPv4Subnet) -> Bool {
        subnet.network >= poolStart && subnet.broadcast.value < poolStart.value + poolSize << 8
    }

    public let root: String
    public let hostState: String

    public init(root: String, hostState: String = "/run/skiff/networks") {
        self.root = root
        self.hostState = hostState
    }

    public var directory: String { root + "/networks" }
    public var ipamDirectory: String { directory + "/ipam" }
    var claimsDirectory: String { hostState + "/claims" }
    var readyDirectory: String { hostState + "/ready" }
    func definitionPath(_ name: String) -> String { directory + "/" + name + ".json" }

    // MARK: - reading

    public func definition(_ name: String) throws -> NetworkDefinition {
        try Self.validate(name: name)
        let path = definitionPath(name)
        guard let bytes = try? FileIO.read(path) else { throw NetworkError.noSuchNetwork(name) }
        do { return try JSONDecoding.decode(NetworkDefinition.self, from: bytes) } catch {
            throw NetworkError.corruptState(path: path, reason: "\(error)")
        }
    }

    /// The name of the network `nameOrID` names, as docker takes either: a network of that name,
    /// else the one network whose ID starts with it; else `nameOrID` itself, for the caller's
    /// "not found".
    public func name(of nameOrID: String) -> String {
        if FileIO.exists(definitionPath(nameOrID)) || nameOrID.isEmpty { return nameOrID }
        let matches = all().filter { $0.id.hasPrefix(nameOrID) }
        return matches.count == 1 ? matches[0].name : nameOrID
    }

    public func all() -> [NetworkDefinition] {
        let names = ((try? FileIO.listDirectory(directory)) ?? []).filter { $0.hasSuffix(".json") }
        return names.compactMap { try? definition(String($0.dropLast(5))) }.sorted { $0.name < $1.name }
    }

    /// The network a container asks for; the default `bridge` is created on first use.
    public func resolve(_ name: String) throws -> NetworkDefinition {
        if name == Self.defaultNetworkName, !FileIO.exists(definitionPath(name)) {
            do { return try create(name: name) } catch NetworkError.networkExists {}
        }
        return try definition(name)
    }

    // MARK: - create

    /// Creates a network; the subnet (and gateway, its first address) is chosen when not given.
    /// With `ipv6` the network is dual stack: `subnet6` (default: a /64 of a unique local
    /// fdXX:XXXX:XXXX::/48 derived from the store root and the name) and `gateway6` (default: its
    /// first address).
    public func create(
        name: String, subnet requestedSubnet: String? = nil, gateway requestedGateway: String? = nil, labels: [String: String] = [:],
        ipv6: Bool = false, subnet6 requestedSubnet6: String? = nil, gateway6 requestedGateway6: String? = nil,
        `internal`: Bool = false, mtu: Int? = nil
    ) throws -> NetworkDefinition {
        try Self.validate(name: name)
        if let mtu, !(Self.mtuRange).contains(mtu) {
            throw NetworkError.invalidOption(
                "com.docker.network.driver.mtu=\(mtu): the MTU must be between \(Self.mtuRange.lowerBound) and \(Self.mtuRange.upperBound)")
        }
        guard name != "none" && name != "host" else { throw NetworkError.networkExists(name) }
        try FileIO.makeDirectories(directory, mode: 0o700)
        try FileIO.makeDirectories(claimsDirectory, mode: 0o700)
        return try NetworkLock.withLock(directory + "/.lock") {
            guard !FileIO.exists(definitionPath(name)) else { throw NetworkError.networkExists(name) }
            let bridge = try Self.bridgeName(root: root, network: name)
            return try NetworkLock.withLock(hostState + "/.lock") {
                let subnet: IPv4Subnet
                if let requestedSubnet {
                    subnet = try IPv4Subnet(parsing: requestedSubnet)
                    guard subnet.prefix >= 8, subnet.prefix <= 30 else {
                        throw NetworkError.invalidSubnet(requestedSubnet, reason: "the prefix must be between /8 and /30")
                    }
                    if let conflict = conflict(for: subnet, bridge: bridge) {
                        throw NetworkError.subnetInUse(subnet: subnet.description, by: conflict)
                    }
                } else {
                    subnet = try freeSubnet(
                        startingAt: root == Self.defaultStoreRoot && name == Self.defaultNetworkName
                            ? 0 : Self.hash(root + "\u{0}" + name) % Self.poolSize, bridge: bridge)
                }
                let gateway: IPv4Address
                if let requestedGateway {
                    guard let address = IPv4Address(requestedGateway) else {
                        throw NetworkError.invalidGateway(requestedGateway, reason: "it is not an IPv4 address")
                    }
                    guard subnet.contains(address), address != subnet.network, address != subnet.broadcast else {
                        throw NetworkError.invalidGateway(requestedGateway, reason: "it is not a host address of \(subnet)")
                    }
                    gateway = address
                } else {
                    gateway = subnet.address(1)
                }
                var definition = NetworkDefinition(
                    name: name, id: Self.hex(Self.hash64(root + "\u{0}" + name + "\u{0}" + Timestamp.now())),
                    subnet: subnet.description, gateway: gateway.description, bridge: bridge,
                    created: Timestamp.now())
                definition.labels = labels.isEmpty ? nil : labels
                definition.`internal` = `internal` ? true : nil
                definition.mtu = mtu
                if ipv6 {
                    let subnet6 = try requestedSubnet6.map { try IPv6Subnet(parsing: $0) } ?? Self.uniqueLocalSubnet(root: root, name: name)
                    if let conflict = conflict(for: subnet6, bridge: bridge) {
                        throw NetworkError.subnetInUse(subnet: subnet6.description, by: conflict)
                    }
                    var gateway6 = subnet6.address(1)
                    if let requestedGateway6 {
                        guard let address = IPv6Address(requestedGateway6), subnet6.contains(address), address != subnet6.network else {
                            throw NetworkError.invalidGateway(requestedGateway6, reason: "it is not a host address of \(subnet6)")
                        }
                        gateway6 = address
                    }
                    definition.subnet6 = subnet6.description
                    definition.gateway6 = gateway6.description
                }
                try claim(subnet, owner: definition)
                do {
                    try FileIO.writeAtomically(definitionPath(name), try JSONEncoding.encode(definition, pretty: true), mode: 0o600)
                } catch {
                    unclaim(subnet, owner: definition)
                    throw error
                }
                return definition
            }
        }
    }

    /// What `subnet` overlaps: a host route (other than the network's own bridge) or a subnet
    /// another network (of any store root) claimed; nil when it is free.
    func conflict(for subnet: IPv4Subnet, bridge: String) -> String? {
        for route in HostRoutes.current() where route.interface != bridge && route.subnet.overlaps(subnet) {
            return "the host route \(route.subnet) on \(route.interface)"
        }
        for (claimed, owner) in claims() where claimed.overlaps(subnet) {
            return "\(claimed) of network \(owner)"
        }
        return nil
    }

    /// What an IPv6 `subnet` overlaps: a host route (other than the network's own bridge, the
    /// default route and the link-local and multicast ones every interface has) or another
    /// network of this store; nil when it is free.
    func conflict(for subnet: IPv6Subnet, bridge: String) -> String? {
        for route in HostRoutes.currentIPv6() where route.interface != bridge && route.subnet.overlaps(subnet) {
            return "the host route \(route.subnet) on \(route.interface)"
        }
        for network in all() {
            if let text = network.subnet6, let other = try? IPv6Subnet(parsing: text), other.overlaps(subnet) {
                return "\(other) of network \(network.name)"
            }
        }
        return nil
    }

    /// A /64 of a unique local /48 (RFC 4193: fd and 40 bits, here of a hash of the store root and
    /// the network name rather than random, so it is stable for a name and differs between roots).
    static func uniqueLocalSubnet(root: String, name: String) -> IPv6Subnet {
        let hash = hash64(root + "\u{0}" + name + "\u{0}ipv6")
        var bytes = [UInt8](repeating: 0, count: 16)
        bytes[0] = 0xfd
        for index in 1...5 { bytes[index] = UInt8(truncatingIfNeeded: hash >> UInt64(8 * (index - 1))) }
        return IPv6Subnet(network: IPv6Address(bytes: bytes), prefix: 64)
    }

    func freeSubnet(startingAt start: UInt32, bridge: String) throws -> IPv4Subnet {
        let routes = HostRoutes.current().filter { $0.interface != bridge }
        let claimed = claims().map(\.0)
        for step in 0..<Self.poolSize {
            let index = (start + step) % Self.poolSize
            let candidate = IPv4Subnet(network: IPv4Address(Self.poolStart.value + index << 8), prefix: 24)
            if routes.contains(where: { $0.subnet.overlaps(candidate) }) { continue }
            if claimed.contains(where: { $0.overlaps(candidate) }) { continue }
            return candidate
        }
        throw NetworkError.noFreeSubnet
    }

    // MARK: - host-global claims

    static func claimName(_ subnet: IPv4Subnet) -> String { "\(subnet.network)_\(subnet.prefix)" }
    static func ownerText(_ definition: NetworkDefinition, root: String) -> String {
        "\(definition.name) (\(root), bridge \(definition.bridge))"
    }

    /// Every live claim: a claim whose network no longer exists (its store was deleted) is stale and skipped.
    func claims() -> [(IPv4Subnet, String)] {
        let names = (try? FileIO.listDirectory(claimsDirectory)) ?? []
        return names.compactMap { name in
            let parts = name.split(separator: "_")
            guard parts.count == 2, let address = IPv4Address(parts[0]), let prefix = Int(parts[1]),
                let text = try? FileIO.readString(claimsDirectory + "/" + name)
            else { return nil }
            let lines = text.split(separator: "\n").map(String.init)
            guard lines.count >= 2, FileIO.exists(lines[0] + "/networks/" + lines[1] + ".json") else { return nil }
            return (IPv4Subnet(network: address, prefix: prefix), "\(lines[1]) of store \(lines[0])")
        }
    }

    func claim(_ subnet: IPv4Subnet, owner: NetworkDefinition) throws {
        try FileIO.makeDirectories(claimsDirectory, mode: 0o700)
        try FileIO.writeAtomically(
            claimsDirectory + "/" + Self.claimName(subnet), Array("\(root)\n\(owner.name)\n\(owner.bridge)\n".utf8), mode: 0o600)
    }

    func unclaim(_ subnet: IPv4Subnet, owner: NetworkDefinition) {
        let path = claimsDirectory + "/" + Self.claimName(subnet)
        if let text = try? FileIO.readString(path), text.hasPrefix("\(root)\n\(owner.name)\n") { unlink(path) }
    }

    // MARK: - readiness (once per boot)

    /// What the host needs before a container joins the network, done once per boot (a marker under
    /// /run remembers it): the subnet claimed again (claims live in /run), and one masquerade rule
    /// for the whole subnet, so outgoing traffic leaves with the host's address without a rule per
    /// container. Returns whether the firewall plugin is needed (the FORWARD policy drops).
    public func ensureReady(_ definition: NetworkDefinition, iptables: IPTables = IPTables()) throws -> Bool {
        let marker = readyDirectory + "/" + definition.bridge
        if let text = try? FileIO.readString(marker) { return text.hasPrefix("firewall") }
        try FileIO.makeDirectories(readyDirectory, mode: 0o700)
        return try NetworkLock.withLock(hostState + "/.lock") {
            if let text = try? FileIO.readString(marker) { return text.hasPrefix("firewall") }
            let subnet = try IPv4Subnet(parsing: definition.subnet)
            if let (claimed, owner) = claims().first(where: { $0.0.overlaps(subnet) }),
                !(owner == "\(definition.name) of store \(root)" && claimed == subnet)
            {
                throw NetworkError.subnetInUse(subnet: subnet.description, by: "\(claimed) of network \(owner)")
            }
            try claim(subnet, owner: definition)
            if definition.isInternal {
                for rule in Self.isolationRules(definition) { try iptables.ensureFirst(table: "filter", chain: "FORWARD", rule: rule) }
            } else {
                try iptables.ensure(table: "nat", chain: "POSTROUTING", rule: Self.masqueradeRule(definition))
            }
            let firewall = try iptables.forwardPolicyDrops()
            try FileIO.writeAtomically(marker, Array((firewall ? "firewall\n" : "open\n").utf8))
            return firewall
        }
    }

    static func masqueradeRule(_ definition: NetworkDefinition) -> [String] {
        [
            "-s", definition.subnet, "!", "-d", definition.subnet, "-m", "comment", "--comment", "skiff network \(definition.bridge)", "-j",
            "MASQUERADE",
        ]
    }

    /// What Linux takes for an interface's MTU on a bridge (IPv4's minimum up to jumbo frames and beyond).
    static let mtuRange = 68...65535

    /// An internal network's two drops: nothing forwarded out of its bridge to another interface,
    /// nothing forwarded in from one (traffic within the bridge, and to and from the host, passes).
    static func isolationRules(_ definition: NetworkDefinition) -> [[String]] {
        let comment = ["-m", "comment", "--comment", "skiff internal network \(definition.bridge)", "-j", "DROP"]
        return [
            ["-i", definition.bridge, "!", "-o", definition.bridge] + comment,
            ["-o", definition.bridge, "!", "-i", definition.bridge] + comment,
        ]
    }

    // MARK: - remove

    /// Removes the network's definition, IPAM data, claim, masquerade rule and bridge. The caller
    /// checks that no container uses it.
    public func remove(_ name: String, iptables: IPTables = IPTables()) throws {
        let definition = try definition(name)
        try NetworkLock.withLock(directory + "/.lock") {
            try iptables.remove(table: "nat", chain: "POSTROUTING", rule: Self.masqueradeRule(definition))
            for rule in Self.isolationRules(definition) { try iptables.remove(table: "filter", chain: "FORWARD", rule: rule) }
            _ = try? Subprocess.run(
                path: "/usr/sbin/ip", args: ["ip", "link", "delete", definition.bridge, "type", "bridge"],
                env: [], captureOutput: true, captureStderr: true, timeout: 30)
            unlink(readyDirectory + "/" + definition.bridge)
            FileIO.removeTree(ipamDirectory + "/" + name)
            NetworkPeers(store: self).removeAll(network: name)
            if let subnet = try? IPv4Subnet(parsing: definition.subnet) { unclaim(subnet, owner: definition) }
            guard unlink(definitionPath(name)) == 0 || errno == ENOENT else { throw SystemError("remove \(definitionPath(name))") }
        }
    }

    // MARK: - names

    /// docker's rule for names, shorter (the name is a file name and part of the CNI config).
    public static func validate(name: String) throws {
        guard let first = name.first, first.isASCII, first.isLetter || first.isNumber, name.utf8.count <= 64,
            name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) })
        else {
            throw NetworkError.invalidName(name)
        }
    }

    /// The bridge interface of a network: `skiff0` for the default network of the default store,
    /// else `sk` and 8 hex digits of a hash of the store root and the network name, so two store
    /// roots (a test's and a user's) never share a bridge.
    public static func bridgeName(root: String, network: String) throws -> String {
        if root == defaultStoreRoot && network == defaultNetworkName { return "skiff0" }
        return "sk" + hex(UInt64(hash(root + "\u{0}" + network)), digits: 8)
    }

    static func hash64(_ text: String) -> UInt64 {
        var value: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 { value = (value ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return value
    }

    static func hash(_ text: String) -> UInt32 {
        let value = hash64(text)
        return UInt32(truncatingIfNeeded: value ^ (value >> 32))
    }

    static func hex(_ value: UInt64, digits: Int = 16) -> String {
        let text = String(value, radix: 16)
        let padded = String(repeating: "0", count: max(0, 16 - text.count)) + text
        return String(padded.suffix(digits))
    }
}

#if canImport(Glibc)
import Glibc
#endif
import JSON
import LinuxSupport

/// One container on a user network, as the network's peer list records it: what the others'
/// /etc/hosts say about it, and what its own /etc/hosts is made of (so any member's join or
/// leave can rewrite every member's file).
public struct NetworkPeer: Codable, Sendable, Equatable {
    public var containerID: String
    public var address: String
    /// The names the other containers resolve it by: its name, short ID and --network-alias names.
    public var names: [String]
    /// The host path of its /etc/hosts (bind-mounted into it, so rewritten in place only).
    public var hostsPath: String
    public var hostname: String
    public var name: String?
    /// Its --add-host entries (NAME:IP), kept in its file above the peers.
    public var extraHosts: [String]
    /// Its IPv6 address on a network with `--ipv6` (the embedded DNS answers AAAA with it).
    public var ipv6Address: String?

    public init(
        containerID: String, address: String, names: [String], hostsPath: String, hostname: String,
        name: String?, extraHosts: [String]
    ) {
        self.containerID = containerID
        self.address = address
        self.names = names
        self.hostsPath = hostsPath
        self.hostname = hostname
        self.name = name
        self.extraHosts = extraHosts
    }

    /// Its own /etc/hosts with `others` as peers.
    public func hostsFile(others: [NetworkPeer]) -> String {
        HostFiles.hosts(
            hostname: hostname, name: name, address: address,
            extraHosts: extraHosts.compactMap { try? HostFiles.ExtraHost(parsing: $0) },
            peers: others.filter { $0.containerID != containerID }.map { HostFiles.Peer(address: $0.address, names: $0.names) })
    }

    /// Every member's /etc/hosts, the same text `hostsFile(others: members)` gives, with the
    /// sorting and each peer's line done once for all members (n files of n lines: a join with
    /// 50 members took 340-450 ms in a debug build when each file sorted and rendered on its own,
    /// 5 ms this way).
    public static func hostsFiles(_ members: [NetworkPeer]) -> [(member: NetworkPeer, text: String)] {
        let ordered = HostFiles.sortedByAddress(members, \.address)
        let lines = ordered.map { HostFiles.peerLine(HostFiles.Peer(address: $0.address, names: $0.names)) }
        return members.map { member in
            var text = HostFiles.hosts(
                hostname: member.hostname, name: member.name, address: member.address,
                extraHosts: member.extraHosts.compactMap { try? HostFiles.ExtraHost(parsing: $0) })
            for (peer, line) in zip(ordered, lines) where peer.containerID != member.containerID && peer.address != member.address {
                text += line
            }
            return (member, text)
        }
    }
}

/// Name resolution between the containers of a user network, docker's behaviour without a DNS
/// daemon (skiff has none): each running member is a file `<root>/networks/peers/<network>/<id>.json`,
/// and a join or leave rewrites the /etc/hosts of every member under the network's peer lock, so
/// parallel starts and stops never lose an entry. Files are rewritten in place (a bind mount pins
/// the inode), by writing the new text over the old and then truncating to its length, so a
/// reader never sees an empty file. The default network `bridge` has no peer list (docker
/// resolves no names there), so nothing of this runs for it.
public struct NetworkPeers: Sendable {
    public let store: NetworkStore

    public init(store: NetworkStore) { self.store = store }

    /// Whether containers on `network` resolve each other by name.
    public static func resolvesNames(_ network: String) -> Bool { network != NetworkStore.defaultNetworkName }

    func directory(_ network: String) -> String { store.directory + "/peers/" + network }
    func entryPath(_ network: String, _ id: String) -> String { directory(network) + "/" + id + ".json" }

    /// Adds `peer` to the network and rewrites its own /etc/hosts and every other member's.
    /// Entries of removed containers (their hosts file gone) and any other entry for the same
    /// address (IPAM gave it to us, so its holder is gone) are dropped on the way.
    public func join(network: String, _ peer: NetworkPeer) throws {
        let directory = directory(network)
        try FileIO.makeDirectories(directory, mode: 0o700)
        try withLock {
            var members = members(network).filter { $0.containerID != peer.containerID }
            for stale in members where stale.address == peer.address || !FileIO.exists(stale.hostsPath) {
                unlink(entryPath(network, stale.containerID))
            }
            members.removeAll { $0.address == peer.address || !FileIO.exists($0.hostsPath) }
            // A running member's entry is worthless after a crash (its hosts file is rewritten at the
            // next start): no sync on the start path.
            try FileIO.writeAtomically(
                entryPath(network, peer.containerID), try JSONEncoding.encode(peer, pretty: true), mode: 0o600,
                durable: false)
            members.append(peer)
            // Our own file must be right before the program starts; another member's file may be
            // gone under us (that container is being removed).
            for (member, text) in hostsFiles(network: network, members: members) {
                if member.containerID == peer.containerID {
                    try Self.rewrite(member.hostsPath, text)
                } else {
                    try? Self.rewrite(member.hostsPath, text)
                }
            }
        }
    }

    /// Removes the container from the network and its entry from the others' /etc/hosts (and
    /// the network's peers from its own, when it stays on another network). Nothing to do (and
    /// no lock taken) when it is not a member.
    public func leave(network: String, containerID: String) throws {
        guard FileIO.exists(entryPath(network, containerID)) else { return }
        try withLock {
            guard unlink(entryPath(network, containerID)) == 0 else { return }
            let members = members(network).filter { FileIO.exists($0.hostsPath) }
            for (member, text) in hostsFiles(network: network, members: members, leaver: containerID) {
                try? Self.rewrite(member.hostsPath, text)
            }
        }
    }

    /// Changes a member's entry (a rename) and rewrites every member's /etc/hosts; nothing to do
    /// when it is not a member.
    public func update(network: String, containerID: String, _ change: (inout NetworkPeer) -> Void) throws {
        guard FileIO.exists(entryPath(network, containerID)) else { return }
        try withLock {
            var members = members(network).filter { FileIO.exists($0.hostsPath) }
            guard let index = members.firstIndex(where: { $0.containerID == containerID }) else { return }
            change(&members[index])
            try FileIO.writeAtomically(
                entryPath(network, containerID), try JSONEncoding.encode(members[index], pretty: true), mode: 0o600,
                durable: false)
            for (member, text) in hostsFiles(network: network, members: members) { try? Self.rewrite(member.hostsPath, text) }
        }
    }

    /// One lock for all networks: a container on two networks has one /etc/hosts made of both
    /// networks' peers, so a change on one network must not race a change on the other.
    private func withLock<T>(_ body: () throws -> T) throws -> T {
        try FileIO.makeDirectories(store.directory + "/peers", mode: 0o700)
        return try NetworkLock.withLock(store.directory + "/peers/.lock", body)
    }

    /// The /etc/hosts of every member of `network` after a change there (and of `leaver`, when it
    /// stays on other networks). A container on several networks lists the peers of all of them
    /// (its own line says the address of the first network, by name, it is on); when no member is
    /// on another network this is `NetworkPeer.hostsFiles`, which renders each line only once.
    func hostsFiles(network: String, members: [NetworkPeer], leaver: String? = nil) -> [(member: NetworkPeer, text: String)] {
        let others = ((try? FileIO.listDirectory(store.directory + "/peers")) ?? [])
            .filter { $0 != network && !$0.hasPrefix(".") }.sorted()
            .map { (network: $0, members: self.members($0).filter { FileIO.exists($0.hostsPath) }) }
        let elsewhere = Set(others.flatMap { $0.members.map(\.containerID) })
        let ids = Set(members.map(\.containerID))
        var rewritten = members.filter { elsewhere.contains($0.containerID) }
        if let leaver, elsewhere.contains(leaver), !ids.contains(leaver),
            let entry = others.lazy.flatMap(\.members).first(where: { $0.containerID == leaver })
        {
            rewritten.append(entry)
        }
        if rewritten.isEmpty { return NetworkPeer.hostsFiles(members) }
        let special = Set(rewritten.map(\.containerID))
        var files = NetworkPeer.hostsFiles(members).filter { !special.contains($0.member.containerID) }
        let all = [(network: network, members: members)] + others
        for member in rewritten {
            let networks = all.filter { $0.members.contains { $0.containerID == member.containerID } }.sorted { $0.network < $1.network }
            guard let own = networks.first?.members.first(where: { $0.containerID == member.containerID }) else { continue }
            var seen = Set<String>()
            let peers = networks.flatMap(\.members).filter {
                $0.containerID != member.containerID && seen.insert($0.containerID + " " + $0.address).inserted
            }
            files.append((own, own.hostsFile(others: peers)))
        }
        return files
    }

    /// The recorded members of `network` (unreadable entries skipped).
    public func members(_ network: String) -> [NetworkPeer] {
        let names = ((try? FileIO.listDirectory(directory(network))) ?? []).filter { $0.hasSuffix(".json") }
        return names.compactMap { name in
            guard let bytes = try? FileIO.read(directory(network) + "/" + name) else { return nil }
            return try? JSONDecoding.decode(NetworkPeer.self, from: bytes)
        }
    }

    /// Forgets a removed network's peer list.
    public func removeAll(network: String) {
        FileIO.removeTree(directory(network))
    }

    /// Replaces the file's content without replacing the file: writes the new text from offset
    /// 0, then cuts the file to its length. Fails when the file is gone (never creates it).
    static func rewrite(_ path: String, _ text: String) throws {
        let fd = try sysCall("open \(path)") { open(path, O_WRONLY | O_CLOEXEC) }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        try FileIO.writeAll(fd: fd, bytes, what: path)
        _ = try sysCall("truncate \(path)") { ftruncate(fd, off_t(bytes.count)) }
    }
}

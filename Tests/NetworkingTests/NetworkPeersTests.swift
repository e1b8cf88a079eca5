import Foundation
import Networking
import Testing

/// Name resolution on user networks: the hosts-file rendering with peers (pure), and the peer
/// list's join/leave/update on a temporary store whose "containers" are plain files. No root.
@Suite struct NetworkPeersTests {
    let header = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"

    @Test func peersFollowTheUsersLinesSortedByAddress() throws {
        let extra = [try HostFiles.ExtraHost(parsing: "db:10.1.2.3")]
        let peers = [
            HostFiles.Peer(address: "10.222.1.10", names: ["web", "0123456789ab", "www"]),
            HostFiles.Peer(address: "10.222.1.9", names: ["cache", "ba9876543210"]),
        ]
        let text = HostFiles.hosts(hostname: "box", name: "client", address: "10.222.1.3", extraHosts: extra, peers: peers)
        #expect(
            text == header + "10.222.1.3\tbox client\n10.1.2.3\tdb\n"
                + "10.222.1.9\tcache ba9876543210\n10.222.1.10\tweb 0123456789ab www\n")
        // The same set in another order renders the same bytes.
        #expect(HostFiles.hosts(hostname: "box", name: "client", address: "10.222.1.3", extraHosts: extra, peers: peers.reversed()) == text)
    }

    @Test func peersWithoutNamesOrWithOurAddressAreLeftOutAndNamesAreDeduplicated() {
        let peers = [
            HostFiles.Peer(address: "10.222.1.3", names: ["old"]),
            HostFiles.Peer(address: "10.222.1.4", names: []),
            HostFiles.Peer(address: "10.222.1.5", names: ["a", "a", "", "b"]),
        ]
        let text = HostFiles.hosts(hostname: "box", name: nil, address: "10.222.1.3", extraHosts: [], peers: peers)
        #expect(text == header + "10.222.1.3\tbox\n10.222.1.5\ta b\n")
        #expect(HostFiles.hosts(hostname: "box", name: nil, address: nil, extraHosts: []) == header + "127.0.1.1\tbox\n")
    }

    @Test func aliasesMustBeHostNames() {
        for good in ["web", "db-1", "api.internal", "a_b", "X9"] { #expect(HostFiles.isValidAlias(good), "\(good)") }
        for bad in ["", "-web", ".web", "a b", "a\tb", "a:b", "a/b", "é", String(repeating: "a", count: 254)] {
            #expect(!HostFiles.isValidAlias(bad), "\(bad)")
        }
    }

    final class Scratch {
        let path = NSTemporaryDirectory() + "skiff-peers-\(UUID().uuidString.prefix(8))"
        init() { try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(atPath: path) }
        var peers: NetworkPeers { NetworkPeers(store: NetworkStore(root: path + "/root", hostState: path + "/host")) }

        /// A container's hosts file as create leaves it, and its peer entry.
        func container(_ name: String, _ address: String, aliases: [String] = [], extraHosts: [String] = []) throws -> NetworkPeer {
            let hosts = path + "/" + name + ".hosts"
            try "placeholder\n".write(toFile: hosts, atomically: false, encoding: .utf8)
            let id = String(repeating: String(name.prefix(1)), count: 64)
            return NetworkPeer(
                containerID: id, address: address, names: [name, String(id.prefix(12))] + aliases, hostsPath: hosts,
                hostname: String(id.prefix(12)), name: name, extraHosts: extraHosts)
        }

        func hosts(_ peer: NetworkPeer) -> String { (try? String(contentsOfFile: peer.hostsPath, encoding: .utf8)) ?? "" }
        func inode(_ peer: NetworkPeer) -> UInt64 {
            ((try? FileManager.default.attributesOfItem(atPath: peer.hostsPath))?[.systemFileNumber] as? NSNumber)?.uint64Value ?? 0
        }
    }

    @Test func joinAndLeaveRewriteEveryMembersFileInPlaceBothWays() throws {
        let scratch = Scratch()
        let peers = scratch.peers
        let web = try scratch.container("web", "10.222.1.2", aliases: ["www"])
        let client = try scratch.container("client", "10.222.1.3", extraHosts: ["db:10.1.2.3"])
        let inodes = (scratch.inode(web), scratch.inode(client))

        try peers.join(network: "net1", web)
        #expect(scratch.hosts(web) == header + "10.222.1.2\twwwwwwwwwwww web\n")
        try peers.join(network: "net1", client)
        #expect(scratch.hosts(web) == header + "10.222.1.2\twwwwwwwwwwww web\n10.222.1.3\tclient cccccccccccc\n")
        #expect(scratch.hosts(client) == header + "10.222.1.3\tcccccccccccc client\n10.1.2.3\tdb\n10.222.1.2\tweb wwwwwwwwwwww www\n")
        #expect(Set(peers.members("net1").map(\.address)) == ["10.222.1.2", "10.222.1.3"])

        try peers.leave(network: "net1", containerID: web.containerID)
        #expect(scratch.hosts(client) == header + "10.222.1.3\tcccccccccccc client\n10.1.2.3\tdb\n")
        #expect(peers.members("net1").map(\.containerID) == [client.containerID])
        try peers.leave(network: "net1", containerID: web.containerID)  // idempotent
        // Never replaced: the bind mounts in the containers still show these files.
        #expect((scratch.inode(web), scratch.inode(client)) == inodes)
        // Another network's members are not touched.
        let other = try scratch.container("other", "10.222.2.2")
        try peers.join(network: "net2", other)
        #expect(!scratch.hosts(client).contains("other"))
    }

    @Test func staleEntriesAreDroppedOnJoin() throws {
        let scratch = Scratch()
        let peers = scratch.peers
        let gone = try scratch.container("gone", "10.222.1.2")
        let old = try scratch.container("old", "10.222.1.4")
        try peers.join(network: "net1", gone)
        try peers.join(network: "net1", old)
        // A container removed without its leave (its directory, hosts file included, is gone), and
        // one whose address IPAM has handed to the newcomer.
        try FileManager.default.removeItem(atPath: gone.hostsPath)
        let new = try scratch.container("new", "10.222.1.4")
        try peers.join(network: "net1", new)
        #expect(peers.members("net1").map(\.containerID) == [new.containerID])
        #expect(scratch.hosts(new) == header + "10.222.1.4\tnnnnnnnnnnnn new\n")
    }

    @Test func aRenameChangesTheNamesOthersSee() throws {
        let scratch = Scratch()
        let peers = scratch.peers
        let web = try scratch.container("web", "10.222.1.2")
        let client = try scratch.container("client", "10.222.1.3")
        try peers.join(network: "net1", web)
        try peers.join(network: "net1", client)
        try peers.update(network: "net1", containerID: web.containerID) {
            $0.name = "api"
            $0.names = ["api", "wwwwwwwwwwww"]
        }
        #expect(scratch.hosts(client).hasSuffix("10.222.1.2\tapi wwwwwwwwwwww\n"))
        #expect(scratch.hosts(web).contains("10.222.1.2\twwwwwwwwwwww api\n"))
        // Not a member: nothing happens.
        try peers.update(network: "net1", containerID: "nobody") { $0.name = "x" }
    }

    @Test func aShorterRewriteLeavesNoTail() throws {
        let scratch = Scratch()
        let peers = scratch.peers
        let web = try scratch.container("web", "10.222.1.2")
        try "a much longer previous content than the new one will be, ending in a line of its own\n".appending(
            String(repeating: "x", count: 500)
        )
        .write(toFile: web.hostsPath, atomically: false, encoding: .utf8)
        try peers.join(network: "net1", web)
        #expect(scratch.hosts(web) == header + "10.222.1.2\twwwwwwwwwwww web\n")
    }
}

extension NetworkPeersTests {
    @Test func allFilesAtOnceMatchEachFileOnItsOwn() throws {
        var members: [NetworkPeer] = []
        for i in 0..<12 {
            let names: [String] = i == 4 ? ["c\(i)", "s\(i)", "c3"] : ["c\(i)", "s\(i)"]
            let name: String? = i == 5 ? nil : "c\(i)"
            let extra: [String] = i == 2 ? ["db:10.1.2.3"] : []
            members.append(
                NetworkPeer(
                    containerID: "id\(i)", address: "10.222.\(i % 3).\(20 - i)", names: names,
                    hostsPath: "/nonexistent/\(i)", hostname: "h\(i)", name: name, extraHosts: extra))
        }
        for (member, text) in NetworkPeer.hostsFiles(members.shuffled()) {
            #expect(text == member.hostsFile(others: members))
            #expect(text.components(separatedBy: "\n").count == 3 + members.count + (member.containerID == "id2" ? 1 : 0))
        }
    }
}

extension NetworkPeersTests {
    /// `network connect`: a container on two user networks has one /etc/hosts with both networks'
    /// peers; leaving one keeps the other's; members of one network never see the other's.
    @Test func aContainerOnTwoNetworksListsThePeersOfBoth() throws {
        let scratch = Scratch()
        let peers = scratch.peers
        let web = try scratch.container("web", "10.222.1.2")
        let db = try scratch.container("db", "10.222.2.2")
        var both = try scratch.container("both", "10.222.1.3")
        try peers.join(network: "net1", web)
        try peers.join(network: "net2", db)
        try peers.join(network: "net1", both)
        both.address = "10.222.2.3"
        try peers.join(network: "net2", both)
        #expect(
            scratch.hosts(both) == header + "10.222.1.3\tbbbbbbbbbbbb both\n10.222.1.2\tweb wwwwwwwwwwww\n10.222.2.2\tdb dddddddddddd\n")
        #expect(scratch.hosts(web) == header + "10.222.1.2\twwwwwwwwwwww web\n10.222.1.3\tboth bbbbbbbbbbbb\n")
        #expect(scratch.hosts(db) == header + "10.222.2.2\tdddddddddddd db\n10.222.2.3\tboth bbbbbbbbbbbb\n")
        // A join on one network keeps the other's peers in the shared member's file.
        let api = try scratch.container("api", "10.222.1.4")
        try peers.join(network: "net1", api)
        #expect(scratch.hosts(both).contains("10.222.2.2\tdb dddddddddddd\n") && scratch.hosts(both).contains("10.222.1.4\tapi"))

        try peers.leave(network: "net2", containerID: both.containerID)
        #expect(scratch.hosts(db) == header + "10.222.2.2\tdddddddddddd db\n")
        #expect(!scratch.hosts(both).contains("db") && scratch.hosts(both).contains("10.222.1.2\tweb wwwwwwwwwwww\n"))
    }
}

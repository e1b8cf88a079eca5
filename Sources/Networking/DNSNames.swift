#if canImport(Glibc)
import Glibc
#endif
import LinuxSupport
import Synchronization

/// The names the embedded DNS of a user network answers for one container: those of every
/// container on its user networks (itself too), as their /etc/hosts lines say them (name, short
/// ID, --network-alias names). Pure, so unit-tested.
public struct DNSNames: Sendable, Equatable {
    var byName: [String: [IPv4Address]] = [:]
    var byAddress: [IPv4Address: String] = [:]
    /// The IPv6 addresses of the names of members on networks with `--ipv6` (AAAA answers).
    var byName6: [String: [IPv6Address]] = [:]

    /// What to do with a query.
    public enum Resolution: Sendable, Equatable {
        /// A reply from our names (an empty answer for a name of ours without that type).
        case local(rcode: UInt8, answers: [DNSMessage.Answer])
        /// Not ours: the host's resolvers answer it.
        case forward
    }

    public init() {}

    /// Names from the members' hosts lines; the first member to claim a name keeps it for
    /// reverse lookups, every address of a name answers forward lookups.
    public init(peers: [HostFiles.Peer]) {
        for peer in HostFiles.sortedByAddress(peers, \.address) {
            guard let address = IPv4Address(peer.address) else { continue }
            for name in peer.names where HostFiles.isValidAlias(name) {
                let key = name.lowercased()
                if !(byName[key]?.contains(address) ?? false) { byName[key, default: []].append(address) }
                if byAddress[address] == nil { byAddress[address] = key }
            }
        }
    }

    /// The same, with the members' IPv6 addresses (`ipv6`: address to names) for AAAA answers.
    public init(peers: [HostFiles.Peer], ipv6: [(address: String, names: [String])]) {
        self.init(peers: peers)
        for peer in ipv6 {
            guard let address = IPv6Address(peer.address) else { continue }
            for name in peer.names where HostFiles.isValidAlias(name) {
                let key = name.lowercased()
                if !(byName6[key]?.contains(address) ?? false) { byName6[key, default: []].append(address) }
            }
        }
    }

    public var isEmpty: Bool { byName.isEmpty }

    /// docker's embedded DNS: A for our names, AAAA for those on networks with `--ipv6`, an empty
    /// NOERROR for other types of them (so a client's AAAA question never waits on the host's
    /// resolvers), PTR for our IPv4 addresses, the rest forwarded. Other opcodes are not implemented.
    public func resolve(_ query: DNSMessage.Query) -> Resolution {
        guard query.opcode == 0 else { return .local(rcode: DNSMessage.notImplemented, answers: []) }
        let question = query.question
        guard question.qclass == DNSMessage.classIN else { return .forward }
        if question.type == DNSMessage.typePTR, let address = DNSMessage.reverseIPv4(question.name) {
            guard let name = byAddress[address] else { return .forward }
            return .local(rcode: DNSMessage.noError, answers: [.ptr(name)])
        }
        guard let addresses = byName[question.name] else { return .forward }
        if question.type == DNSMessage.typeAAAA {
            return .local(rcode: DNSMessage.noError, answers: (byName6[question.name] ?? []).map { .aaaa($0.bytes) })
        }
        guard question.type == DNSMessage.typeA else { return .local(rcode: DNSMessage.noError, answers: []) }
        return .local(
            rcode: DNSMessage.noError,
            answers: addresses.map { address in
                .a([
                    UInt8(address.value >> 24), UInt8((address.value >> 16) & 0xFF), UInt8((address.value >> 8) & 0xFF),
                    UInt8(address.value & 0xFF),
                ])
            })
    }
}

extension NetworkPeers {
    /// The names the embedded DNS answers for `containerID`: the members of every user network
    /// it is a member of. Read again only when one of those networks' peer directories changed
    /// (a join, leave or rename replaces or removes an entry file there), so a flood of queries
    /// costs a few stat calls each.
    public final class DNSNameSource: Sendable {
        let peers: NetworkPeers
        let containerID: String
        private let cache = Mutex<(key: [String], names: DNSNames)?>(nil)

        public init(peers: NetworkPeers, containerID: String) {
            self.peers = peers
            self.containerID = containerID
        }

        public func names() -> DNSNames {
            let root = peers.store.directory + "/peers"
            let networks = ((try? FileIO.listDirectory(root)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
            let mine = networks.filter { FileIO.exists(peers.entryPath($0, containerID)) }
            // A directory changed twice within one tick of the file system's clock keeps its
            // mtime: nothing is cached while a change is that recent.
            var recent = false
            let now = time(nil)
            let key = mine.map { network -> String in
                var info = stat()
                guard stat(peers.directory(network), &info) == 0 else { return network }
                if info.st_mtim.tv_sec + 2 >= now { recent = true }
                return "\(network) \(info.st_mtim.tv_sec) \(info.st_mtim.tv_nsec) \(info.st_ino)"
            }
            if let cached = cache.withLock({ $0 }), cached.key == key { return cached.names }
            let members = mine.flatMap { peers.members($0) }
            let names = DNSNames(
                peers: members.map { HostFiles.Peer(address: $0.address, names: $0.names) },
                ipv6: members.compactMap { member in member.ipv6Address.map { (address: $0, names: member.names) } })
            cache.withLock { $0 = recent ? nil : (key, names) }
            return names
        }
    }
}

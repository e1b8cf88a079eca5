import Networking
import Testing

/// A query as a resolver sends it: header, one question.
func dnsQuery(_ name: String, type: UInt16 = DNSMessage.typeA, id: UInt16 = 0x1234, flags: UInt16 = 0x0100) -> [UInt8] {
    var bytes: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xFF), UInt8(flags >> 8), UInt8(flags & 0xFF), 0, 1, 0, 0, 0, 0, 0, 0]
    bytes += DNSMessage.encodeName(name)
    bytes += [UInt8(type >> 8), UInt8(type & 0xFF), 0, 1]
    return bytes
}

/// The A addresses of a reply (dotted), its rcode and flags; the reply must echo one question.
func dnsAnswers(_ reply: [UInt8]) throws -> (rcode: UInt8, flags: UInt16, addresses: [String], names: [String]) {
    #expect(reply.count >= 12)
    let flags = UInt16(reply[2]) << 8 | UInt16(reply[3])
    let answers = Int(reply[6]) << 8 | Int(reply[7])
    var offset = 12
    if reply[5] == 1 { offset = try DNSMessage.readName(reply, at: 12).end + 4 }
    var addresses: [String] = []
    var names: [String] = []
    for _ in 0..<answers {
        offset = try DNSMessage.readName(reply, at: offset).end
        let type = UInt16(reply[offset]) << 8 | UInt16(reply[offset + 1])
        let length = Int(reply[offset + 8]) << 8 | Int(reply[offset + 9])
        offset += 10
        if type == DNSMessage.typeA { addresses.append(reply[offset..<(offset + 4)].map(String.init).joined(separator: ".")) }
        if type == DNSMessage.typePTR { names.append(try DNSMessage.readName(reply, at: offset).name) }
        offset += length
    }
    return (UInt8(flags & 0xF), flags, addresses, names)
}

struct DNSMessageTests {
    @Test func readsAQueryAndAnswersIt() throws {
        let query = try DNSMessage.parseQuery(dnsQuery("Web.Example", type: DNSMessage.typeA))
        #expect(query.id == 0x1234)
        #expect(query.question == DNSMessage.Question(name: "web.example", type: DNSMessage.typeA, qclass: 1))
        let reply = DNSMessage.reply(to: query, rcode: DNSMessage.noError, answers: [.a([10, 88, 0, 2]), .a([10, 88, 0, 3])])
        let read = try dnsAnswers(reply)
        #expect(read.rcode == 0)
        #expect(read.flags & 0x8000 != 0)  // QR
        #expect(read.flags & 0x0100 != 0)  // RD echoed
        #expect(read.addresses == ["10.88.0.2", "10.88.0.3"])
        #expect(reply[0] == 0x12 && reply[1] == 0x34)
    }

    @Test func refusesMalformedInput() {
        #expect(throws: DNSMessageError.truncated) { try DNSMessage.parseQuery([0, 1, 0, 0, 0, 1]) }
        // A response is never answered.
        #expect(throws: DNSMessageError.notAQuery) { try DNSMessage.parseQuery(dnsQuery("a", flags: 0x8100)) }
        var two = dnsQuery("a")
        two[5] = 2
        #expect(throws: DNSMessageError.questionCount(2)) { try DNSMessage.parseQuery(two) }
        // The name runs past the end.
        #expect(throws: DNSMessageError.truncated) { try DNSMessage.parseQuery(Array(dnsQuery("abcdef").prefix(15))) }
        // Type and class missing.
        #expect(throws: DNSMessageError.truncated) { try DNSMessage.parseQuery(Array(dnsQuery("abc").dropLast(2))) }
        // Label types 01 and 10.
        var extended = dnsQuery("abc")
        extended[12] = 0x41
        #expect(throws: DNSMessageError.badLabel) { try DNSMessage.parseQuery(extended) }
    }

    @Test func compressionPointersOnlyGoBackwards() {
        // A pointer to itself, and one forward: both loops or wandering.
        let header: [UInt8] = [0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]
        #expect(throws: DNSMessageError.badPointer) { try DNSMessage.parseQuery(header + [0xC0, 12, 0, 1, 0, 1]) }
        #expect(throws: DNSMessageError.badPointer) { try DNSMessage.parseQuery(header + [0xC0, 14, 1, 0x61, 0, 0, 1, 0, 1]) }
        // A chain of backward pointers longer than the limit.
        var chain: [UInt8] = [1, 0x61, 0]
        for index in 0..<20 { chain += [0xC0, UInt8(12 + (index == 0 ? 0 : 3 + (index - 1) * 2))] }
        let start = 12 + chain.count - 2
        #expect(throws: DNSMessageError.badPointer) { try DNSMessage.readName(header + chain, at: start) }
        // A short chain is read, its end after the first pointer.
        let short = header + [1, 0x61, 0, 0xC0, 12]
        let read = try? DNSMessage.readName(short, at: 15)
        #expect(read?.name == "a")
        #expect(read?.end == 17)
    }

    @Test func namesAreBounded() {
        let header: [UInt8] = [0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]
        var long: [UInt8] = []
        for _ in 0..<5 { long += [63] + [UInt8](repeating: 0x61, count: 63) }
        #expect(throws: DNSMessageError.nameTooLong) { try DNSMessage.parseQuery(header + long + [0, 0, 1, 0, 1]) }
        // Bytes that are not a host name's, and a dot inside a label, never read as a name of ours.
        let odd = header + [3, 0x61, 0x2E, 0x62, 0, 0, 1, 0, 1]
        #expect((try? DNSMessage.parseQuery(odd))?.question.name == "a\\046b")
    }

    @Test func truncatesInsteadOfGrowing() throws {
        let query = try DNSMessage.parseQuery(dnsQuery("many"))
        let answers = (0..<100).map { DNSMessage.Answer.a([10, 0, 0, UInt8($0)]) }
        let reply = DNSMessage.reply(to: query, rcode: 0, answers: answers)
        #expect(reply.count <= DNSMessage.udpLimit)
        #expect(reply[2] & 0x02 != 0)  // TC
        #expect(DNSMessage.reply(to: query, rcode: 0, answers: answers, limit: 65535)[2] & 0x02 == 0)
    }

    @Test func headerReplyForAnUnreadableQuestion() {
        let reply = DNSMessage.headerReply(to: [0xAB, 0xCD, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0], rcode: DNSMessage.formatError)
        #expect(reply == [0xAB, 0xCD, 0x81, 0x81, 0, 0, 0, 0, 0, 0, 0, 0])
        #expect(DNSMessage.headerReply(to: [1, 2, 3], rcode: 1) == nil)
    }

    @Test func namesOfTheNetwork() throws {
        let names = DNSNames(peers: [
            HostFiles.Peer(address: "10.89.0.3", names: ["db", "0123456789ab", "postgres"]),
            HostFiles.Peer(address: "10.89.0.2", names: ["web", "ba9876543210", "front", "bad name"]),
        ])
        func resolve(_ name: String, _ type: UInt16 = DNSMessage.typeA) throws -> DNSNames.Resolution {
            names.resolve(try DNSMessage.parseQuery(dnsQuery(name, type: type)))
        }
        #expect(try resolve("DB") == .local(rcode: 0, answers: [.a([10, 89, 0, 3])]))
        #expect(try resolve("postgres.") == .local(rcode: 0, answers: [.a([10, 89, 0, 3])]))
        // A name of ours without that type: an empty answer, never forwarded.
        #expect(try resolve("web", DNSMessage.typeAAAA) == .local(rcode: 0, answers: []))
        #expect(try resolve("3.0.89.10.in-addr.arpa", DNSMessage.typePTR) == .local(rcode: 0, answers: [.ptr("db")]))
        #expect(try resolve("9.0.89.10.in-addr.arpa", DNSMessage.typePTR) == .forward)
        #expect(try resolve("example.org") == .forward)
        #expect(try resolve("bad name") == .forward)
        var status = try DNSMessage.parseQuery(dnsQuery("db"))
        status.flags |= 2 << 11
        #expect(names.resolve(status) == .local(rcode: DNSMessage.notImplemented, answers: []))
    }

    @Test func embeddedResolvConf() throws {
        let host = "# generated\nsearch corp.example\nnameserver 127.0.0.53\noptions edns0 trust-ad\n"
        let made = try HostFiles.embeddedDNSResolvConf(host: host, dns: [], search: [])
        #expect(made.resolvConf == "search corp.example\nnameserver 127.0.0.11\noptions edns0 trust-ad ndots:0\n")
        #expect(made.upstream == "nameserver 127.0.0.53\n")
        #expect(DNSUpstream.parse(resolvConf: made.upstream) == [DNSUpstream(address: IPv4Address("127.0.0.53")!)])
        let mixed = DNSUpstream.parse(
            resolvConf:
                "nameserver ::1\nnameserver fe80::1%eth0\nnameserver bogus\nnameserver 10.0.0.1\nnameserver 10.0.0.2\nnameserver 10.0.0.3\n"
        )
        #expect(mixed.map(\.address.count) == [16, 4, 4])
        #expect(mixed.first?.address == [UInt8](repeating: 0, count: 15) + [1])
        let given = try HostFiles.embeddedDNSResolvConf(host: host, dns: ["192.0.2.1"], search: ["."])
        #expect(given.resolvConf == "nameserver 127.0.0.11\noptions edns0 trust-ad ndots:0\n")
        #expect(given.upstream == "nameserver 192.0.2.1\n")
        let none = try HostFiles.embeddedDNSResolvConf(host: nil, dns: [], search: [])
        #expect(none.resolvConf == "nameserver 127.0.0.11\noptions ndots:0\n")
        #expect(none.upstream == "")
    }

    /// The names come from the peer list of the container's own networks, and follow joins and
    /// leaves at once.
    @Test func nameSourceFollowsThePeerList() throws {
        let scratch = NetworkPeersTests.Scratch()
        let peers = scratch.peers
        let client = try scratch.container("client", "10.222.1.3")
        let web = try scratch.container("web", "10.222.1.4", aliases: ["www"])
        let other = try scratch.container("other", "10.222.9.9")
        try peers.join(network: "net", client)
        try peers.join(network: "elsewhere", other)
        let source = NetworkPeers.DNSNameSource(peers: peers, containerID: client.containerID)
        func ask(_ name: String) throws -> DNSNames.Resolution { source.names().resolve(try DNSMessage.parseQuery(dnsQuery(name))) }
        #expect(try ask("client") == .local(rcode: 0, answers: [.a([10, 222, 1, 3])]))
        #expect(try ask("www") == .forward)
        try peers.join(network: "net", web)
        #expect(try ask("www") == .local(rcode: 0, answers: [.a([10, 222, 1, 4])]))
        // A container on a network the client is not on stays unknown.
        #expect(try ask("other") == .forward)
        try peers.leave(network: "net", containerID: web.containerID)
        #expect(try ask("web") == .forward)
    }
}

import Foundation
import JSON
import Networking
import Testing

/// Dual-stack user networks (`network create --ipv6`): IPv6 subnets, the store's choice and
/// checks, host-local's two ranges, the IPv6 part of a CNI result, IPv6 host routes, AAAA answers.
@Suite struct IPv6NetworkTests {
    @Test func subnetsParseAndCompare() throws {
        let subnet = try IPv6Subnet(parsing: "fd00:1::/64")
        #expect(subnet.description == "fd00:1::/64")
        #expect(subnet.address(1).description == "fd00:1::1")
        #expect(subnet.address(0x1_0000).description == "fd00:1::1:0")
        #expect(subnet.contains(IPv6Address("fd00:1::ffff:1")!))
        #expect(!subnet.contains(IPv6Address("fd00:2::1")!))
        #expect(subnet.overlaps(try IPv6Subnet(parsing: "fd00::/16")))
        #expect(!subnet.overlaps(try IPv6Subnet(parsing: "fd00:2::/64")))
        #expect(try IPv6Subnet(parsing: "fd00:1:2:3:4::/80").network.description == "fd00:1:2:3:4::")
        for text in ["fd00:1::1/64", "fd00:1::/0", "fd00:1::/121", "10.0.0.0/8", "fd00:1::", "fd00:1::/x", "zz::/64"] {
            #expect(throws: NetworkError.self, "\(text)") { try IPv6Subnet(parsing: text) }
        }
        #expect(IPv6Address("10.1.2.3") == nil)
        #expect(IPv6Address("fe80::1%eth0") == nil)
    }

    @Test func storeChoosesAUniqueLocalSubnetOrChecksTheGivenOne() throws {
        let path = NSTemporaryDirectory() + "skiff-netstore6-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = NetworkStore(root: path + "/a", hostState: path + "/host")
        let automatic = try store.create(name: "auto6", ipv6: true)
        let subnet6 = try IPv6Subnet(parsing: try #require(automatic.subnet6))
        #expect(subnet6.prefix == 64 && subnet6.network.bytes[0] == 0xfd && subnet6.network.bytes[6...].allSatisfy { $0 == 0 })
        #expect(automatic.gateway6 == subnet6.address(1).description)
        #expect(automatic.enableIPv6)
        #expect(try store.create(name: "plain").subnet6 == nil)

        let given = try store.create(name: "given6", ipv6: true, subnet6: "fd00:77::/64", gateway6: "fd00:77::fe")
        #expect(given.subnet6 == "fd00:77::/64" && given.gateway6 == "fd00:77::fe")
        // Another network of the store overlapping it, a gateway outside it, host bits: refused, nothing made.
        #expect(throws: NetworkError.self) { try store.create(name: "again6", ipv6: true, subnet6: "fd00:77::/48") }
        #expect(throws: NetworkError.self) { try store.create(name: "gw6", ipv6: true, subnet6: "fd00:78::/64", gateway6: "fd00:79::1") }
        #expect(throws: NetworkError.self) { try store.create(name: "gw6", ipv6: true, subnet6: "fd00:78::/64", gateway6: "fd00:78::") }
        #expect(throws: NetworkError.self) { try store.create(name: "bits6", ipv6: true, subnet6: "fd00:78::1/64") }
        #expect(store.all().map(\.name) == ["auto6", "given6", "plain"])
        // A host route's prefix (link-local ones aside) is refused.
        if let route = HostRoutes.currentIPv6().first {
            #expect(throws: NetworkError.self) { try store.create(name: "routed6", ipv6: true, subnet6: route.subnet.description) }
        }
    }

    @Test func hostLocalGetsBothRangesAndADefaultRoutePerFamily() throws {
        var network = NetworkDefinition(
            name: "dual", id: "0123", subnet: "10.213.4.0/24", gateway: "10.213.4.1", bridge: "skabcdef01", created: "2026-12-05T00:00:00Z")
        network.subnet6 = "fd00:5::/64"
        network.gateway6 = "fd00:5::1"
        let bridge = CNIConfig.plugins(network: network, ipamDirectory: "/d", ports: [], firewall: false)[0]
        #expect(bridge["ipam"]?["ranges"]?[0]?[0]?["subnet"] == .string("10.213.4.0/24"))
        #expect(bridge["ipam"]?["ranges"]?[1]?[0]?["subnet"] == .string("fd00:5::/64"))
        #expect(bridge["ipam"]?["ranges"]?[1]?[0]?["gateway"] == .string("fd00:5::1"))
        #expect(bridge["ipam"]?["routes"]?[1]?["dst"] == .string("::/0"))
        network.subnet6 = nil
        let plain = CNIConfig.plugins(network: network, ipamDirectory: "/d", ports: [], firewall: false)[0]
        #expect(plain["ipam"]?["ranges"]?[1] == nil && plain["ipam"]?["routes"]?[1] == nil)
    }

    @Test func resultsGiveTheIPv6AddressToo() throws {
        let text = """
            {"cniVersion":"1.0.0","interfaces":[{"name":"sk1","mac":"1e:9a:ff:b5:e7:d0"},{"name":"eth0","mac":"56:25:bc:d5:cc:e7","sandbox":"/n"}],
             "ips":[{"interface":1,"address":"fd00:5::2/64","gateway":"fd00:5::1"},{"interface":1,"address":"10.213.4.3/24","gateway":"10.213.4.1"}]}
            """
        let result = try CNIResult(parsing: try JSONValue.parse(Array(text.utf8)), plugin: "bridge")
        #expect(result.address.description == "10.213.4.3")
        #expect(result.ipv6Address?.description == "fd00:5::2")
        #expect(result.ipv6PrefixLength == 64)
        #expect(result.ipv6Gateway == "fd00:5::1")
    }

    @Test func ipv6RoutesLeaveOutWhatEveryInterfaceHas() {
        let table = """
            fd000000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0
            fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000002 00000000 00000001     eth0
            00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 00000400 00000001 00000000 00000003     eth0
            00000000000000000000000000000001 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000002 00000000 80200001       lo
            ff000000000000000000000000000000 08 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000003 00000000 00000001     eth0
            """
        let routes = HostRoutes.parseIPv6(table)
        #expect(routes.map(\.subnet.description) == ["fd00::/64"])
        #expect(routes.first?.interface == "eth0")
    }

    @Test func theEmbeddedDNSAnswersAAAAForMembersWithIPv6() throws {
        let names = DNSNames(
            peers: [
                HostFiles.Peer(address: "10.89.0.3", names: ["db", "0123456789ab"]),
                HostFiles.Peer(address: "10.89.0.2", names: ["web", "ba9876543210"]),
            ],
            ipv6: [(address: "fd00:5::3", names: ["db", "0123456789ab"])])
        func resolve(_ name: String, _ type: UInt16) throws -> DNSNames.Resolution {
            names.resolve(try DNSMessage.parseQuery(dnsQuery(name, type: type)))
        }
        let bytes = try #require(IPv6Address("fd00:5::3")).bytes
        #expect(try resolve("db", DNSMessage.typeAAAA) == .local(rcode: 0, answers: [.aaaa(bytes)]))
        #expect(try resolve("DB.", DNSMessage.typeAAAA) == .local(rcode: 0, answers: [.aaaa(bytes)]))
        #expect(try resolve("db", DNSMessage.typeA) == .local(rcode: 0, answers: [.a([10, 89, 0, 3])]))
        // A member without IPv6: an empty answer, never forwarded.
        #expect(try resolve("web", DNSMessage.typeAAAA) == .local(rcode: 0, answers: []))
        #expect(try resolve("example.org", DNSMessage.typeAAAA) == .forward)
        let reply = DNSMessage.reply(
            to: try DNSMessage.parseQuery(dnsQuery("db", type: DNSMessage.typeAAAA)), rcode: 0, answers: [.aaaa(bytes)])
        #expect(reply.suffix(16) == bytes[...])
    }
}

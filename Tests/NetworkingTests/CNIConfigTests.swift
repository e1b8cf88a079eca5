import JSON
import Networking
import Testing

@Suite struct CNIConfigTests {
    let network = NetworkDefinition(
        name: "bridge", id: "0123", subnet: "10.213.4.0/24", gateway: "10.213.4.1", bridge: "skabcdef01",
        created: "2026-11-23T00:00:00Z")

    @Test func bridgeAloneWithoutPortsOrFirewall() throws {
        let plugins = CNIConfig.plugins(network: network, ipamDirectory: "/s/networks/ipam", ports: [], firewall: false)
        #expect(plugins.map(CNIConfig.type(of:)) == ["bridge"])
        let bridge = plugins[0]
        #expect(bridge["bridge"] == .string("skabcdef01"))
        #expect(bridge["isGateway"] == .bool(true))
        #expect(bridge["ipam"]?["type"] == .string("host-local"))
        #expect(bridge["ipam"]?["dataDir"] == .string("/s/networks/ipam"))
        #expect(bridge["ipam"]?["ranges"]?[0]?[0]?["subnet"] == .string("10.213.4.0/24"))
        #expect(bridge["ipam"]?["ranges"]?[0]?[0]?["gateway"] == .string("10.213.4.1"))
    }

    @Test func portmapAndFirewallOnlyWhenNeeded() throws {
        let ports = [
            PortMapping(hostIP: "127.0.0.1", hostPort: 8080, containerPort: 80),
            PortMapping(hostPort: 5353, containerPort: 53, proto: "udp"),
        ]
        let plugins = CNIConfig.plugins(network: network, ipamDirectory: "/d", ports: ports, firewall: true)
        #expect(plugins.map(CNIConfig.type(of:)) == ["bridge", "portmap", "firewall"])
        let mappings = plugins[1]["runtimeConfig"]?["portMappings"]
        #expect(mappings?[0]?["hostPort"] == .number(JSONNumber(8080)))
        #expect(mappings?[0]?["containerPort"] == .number(JSONNumber(80)))
        #expect(mappings?[0]?["hostIP"] == .string("127.0.0.1"))
        #expect(mappings?[1]?["protocol"] == .string("udp"))
        #expect(plugins[1]["snat"] == .bool(true))
        #expect(plugins[1]["capabilities"]?["portMappings"] == .bool(true))
    }

    @Test func invocationCarriesVersionNameAndPreviousResult() throws {
        let plugin = CNIConfig.plugins(network: network, ipamDirectory: "/d", ports: [], firewall: false)[0]
        let first = try JSONValue.parse(CNIConfig.invocation(plugin: plugin, networkName: "bridge", prevResult: nil))
        #expect(first["cniVersion"] == .string("1.0.0"))
        #expect(first["name"] == .string("bridge"))
        #expect(first["type"] == .string("bridge"))
        #expect(first["prevResult"] == nil)
        let previous = JSONValue.object([("cniVersion", .string("1.0.0")), ("ips", .array([]))])
        let next = try JSONValue.parse(
            CNIConfig.invocation(plugin: .object([("type", .string("portmap"))]), networkName: "n", prevResult: previous))
        #expect(next["prevResult"] == previous)
    }
}

@Suite struct CNIResultTests {
    let bridgeResult = """
        {"cniVersion":"1.0.0","interfaces":[{"name":"skabc","mac":"1e:9a:ff:b5:e7:d0"},{"name":"veth1","mac":"5a:40:fe:33:62:09"},
         {"name":"eth0","mac":"56:25:bc:d5:cc:e7","sandbox":"/run/skiff/netns/x"}],
         "ips":[{"interface":2,"address":"10.213.4.3/24","gateway":"10.213.4.1"}],"routes":[{"dst":"0.0.0.0/0"}],"dns":{}}
        """

    @Test func containerAddressGatewayAndMac() throws {
        let result = try CNIResult(parsing: try JSONValue.parse(Array(bridgeResult.utf8)), plugin: "bridge")
        #expect(result.address.description == "10.213.4.3")
        #expect(result.prefixLength == 24)
        #expect(result.gateway == "10.213.4.1")
        #expect(result.macAddress == "56:25:bc:d5:cc:e7")
    }

    @Test func resultsWithoutAnIPv4AddressAreRefused() throws {
        #expect(throws: NetworkError.self) {
            try CNIResult(parsing: try JSONValue.parse(Array(#"{"cniVersion":"1.0.0"}"#.utf8)), plugin: "bridge")
        }
        let v6 = #"{"ips":[{"address":"fd00::2/64"}]}"#
        #expect(throws: NetworkError.self) { try CNIResult(parsing: try JSONValue.parse(Array(v6.utf8)), plugin: "bridge") }
    }

    @Test func pluginErrors() {
        #expect(
            CNIResult.errorMessage(Array(#"{"code":7,"msg":"failed to allocate","details":"range full"}"#.utf8))
                == "failed to allocate: range full")
        #expect(CNIResult.errorMessage(Array("garbage".utf8)) == nil)
    }
}

@Suite struct AddressTests {
    @Test func subnets() throws {
        let subnet = try IPv4Subnet(parsing: "10.213.4.0/24")
        #expect(subnet.contains(IPv4Address("10.213.4.200")!))
        #expect(!subnet.contains(IPv4Address("10.213.5.1")!))
        #expect(subnet.overlaps(try IPv4Subnet(parsing: "10.213.0.0/16")))
        #expect(!subnet.overlaps(try IPv4Subnet(parsing: "10.213.5.0/24")))
        #expect(subnet.address(1).description == "10.213.4.1")
        #expect(subnet.broadcast.description == "10.213.4.255")
        #expect(throws: NetworkError.self) { try IPv4Subnet(parsing: "10.213.4.1/24") }
        #expect(throws: NetworkError.self) { try IPv4Subnet(parsing: "10.213.4.0") }
        #expect(throws: NetworkError.self) { try IPv4Subnet(parsing: "300.1.1.0/24") }
        #expect(IPv4Address("1.2.3") == nil && IPv4Address("01234.1.1.1") == nil)
    }

    @Test func hostRoutesFromProc() {
        let table = """
            Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
            eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0
            eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
            """
        let routes = HostRoutes.parse(table)
        #expect(routes == [HostRoutes.Route(interface: "eth0", subnet: try! IPv4Subnet(parsing: "192.0.2.0/24"))])
    }

    @Test func bridgeNamesAreShortAndDifferPerStoreRoot() throws {
        #expect(try NetworkStore.bridgeName(root: "/var/lib/skiff", network: "bridge") == "skiff0")
        let a = try NetworkStore.bridgeName(root: "/tmp/a/root", network: "bridge")
        let b = try NetworkStore.bridgeName(root: "/tmp/b/root", network: "bridge")
        #expect(a != b && a.count <= 15 && b.hasPrefix("sk"))
        #expect(try NetworkStore.bridgeName(root: "/tmp/a/root", network: "other") != a)
    }
}

@Suite struct HostFilesTests {
    @Test func resolvConf() throws {
        let host = "# generated\nnameserver 127.0.0.53\nnameserver 10.0.0.2\nsearch corp.example\noptions edns0\n"
        #expect(
            try HostFiles.resolvConf(host: host, dns: [], search: [], privateNetwork: true)
                == "search corp.example\nnameserver 10.0.0.2\noptions edns0\n")
        #expect(try HostFiles.resolvConf(host: host, dns: [], search: [], privateNetwork: false).contains("nameserver 127.0.0.53"))
        #expect(
            try HostFiles.resolvConf(host: host, dns: ["192.0.2.53"], search: ["a.test", "b.test"], privateNetwork: true)
                == "search a.test b.test\nnameserver 192.0.2.53\noptions edns0\n")
        #expect(throws: HostFilesError.self) { try HostFiles.resolvConf(host: nil, dns: ["not-an-ip"], search: [], privateNetwork: true) }
    }

    @Test func hosts() throws {
        let extra = [try HostFiles.ExtraHost(parsing: "db:10.1.2.3"), try HostFiles.ExtraHost(parsing: "v6:[fd00::1]")]
        let text = HostFiles.hosts(hostname: "box", name: "client", address: "10.213.4.3", extraHosts: extra)
        #expect(
            text == "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n10.213.4.3\tbox client\n10.1.2.3\tdb\nfd00::1\tv6\n")
        #expect(HostFiles.hosts(hostname: "box", name: "box", address: nil, extraHosts: []).hasSuffix("127.0.1.1\tbox\n"))
        #expect(throws: HostFilesError.self) { try HostFiles.ExtraHost(parsing: "db") }
        #expect(throws: HostFilesError.self) { try HostFiles.ExtraHost(parsing: "db:nowhere") }
    }
}

import JSON
import Networking
import Testing

/// `-p [::1]:H:C` (IPv6 host addresses, relayed by the monitor's proxy, not portmap) and
/// `--mac-address` (parsed, unicast only, handed to the bridge plugin through CNI_ARGS).
@Suite struct IPv6PortAndMACTests {
    @Test func bracketedIPv6HostAddresses() throws {
        #expect(try PortMapping(parsing: "[::1]:8080:80") == PortMapping(hostIP: "::1", hostPort: 8080, containerPort: 80))
        #expect(try PortMapping(parsing: "[::]:8080:80") == PortMapping(hostIP: "::", hostPort: 8080, containerPort: 80))
        #expect(try PortMapping(parsing: "[::1]::80/tcp") == PortMapping(hostIP: "::1", hostPort: 0, containerPort: 80))
        // Written in its canonical form.
        #expect(try PortMapping(parsing: "[0:0:0:0:0:0:0:1]:81:80").hostIP == "::1")
        #expect(try PortMapping(parsing: "[FD00::0001]:81:80").hostIP == "fd00::1")
        #expect(try PortMapping.parseAll("[::1]:8000-8001:80-81").map(\.hostPort) == [8000, 8001])
        let mapping = try PortMapping(parsing: "[::1]:8080:80")
        #expect(mapping.isIPv6)
        #expect(mapping.description == "[::1]:8080->80/tcp")
        #expect(mapping.hostAddressText == "[::1]")
        #expect(try !PortMapping(parsing: "127.0.0.1:8080:80").isIPv6)
    }

    @Test func badIPv6SpecsAreRefused() {
        for text in [
            "[::1:8080:80", "[::1]8080:80", "[::1]:80", "[127.0.0.1]:80:80", "[zz::1]:80:80", "[]:80:80", "[::1]:8080:80/udp",
            "::1:8080:80",
        ] {
            #expect(throws: NetworkError.self, "\(text)") { try PortMapping.parseAll(text) }
        }
    }

    @Test func portmapLeavesIPv6HostAddressesToTheProxy() throws {
        let network = NetworkDefinition(
            name: "bridge", id: "0123", subnet: "10.213.4.0/24", gateway: "10.213.4.1", bridge: "skabcdef01",
            created: "2026-11-23T00:00:00Z")
        let only6 = [PortMapping(hostIP: "::1", hostPort: 8080, containerPort: 80)]
        #expect(
            CNIConfig.plugins(network: network, ipamDirectory: "/d", ports: only6, firewall: false).map(CNIConfig.type(of:)) == ["bridge"])
        let both = only6 + [PortMapping(hostIP: "127.0.0.1", hostPort: 8081, containerPort: 80)]
        let plugins = CNIConfig.plugins(network: network, ipamDirectory: "/d", ports: both, firewall: false)
        #expect(plugins.map(CNIConfig.type(of:)) == ["bridge", "portmap"])
        #expect(plugins[1]["runtimeConfig"]?["portMappings"]?[0]?["hostIP"] == .string("127.0.0.1"))
        #expect(plugins[1]["runtimeConfig"]?["portMappings"]?[1] == nil)
    }

    @Test func macAddresses() throws {
        #expect(try MACAddress(parsing: "02:42:AC:11:00:02").description == "02:42:ac:11:00:02")
        #expect(try MACAddress(parsing: "02-42-ac-11-00-0f").description == "02:42:ac:11:00:0f")
        #expect(try MACAddress(parsing: "00:16:3e:00:00:01").octets == [0x00, 0x16, 0x3e, 0, 0, 1])
        for text in [
            "", "02:42:ac:11:00", "02:42:ac:11:00:02:03", "02:42:ac:11:00:0g", "2:42:ac:11:00:02", "02:42-ac:11:00:02", "0242.ac11.0002",
        ] {
            #expect(throws: NetworkError.self, "\(text)") { try MACAddress(parsing: text) }
        }
        // Multicast, broadcast and zero are no interface's address.
        for text in ["01:00:5e:00:00:01", "ff:ff:ff:ff:ff:ff", "03:42:ac:11:00:02", "00:00:00:00:00:00"] {
            #expect(throws: NetworkError.self, "\(text)") { try MACAddress(parsing: text) }
        }
        #expect("\(NetworkError.invalidMACAddress("x", reason: "r"))".contains("--mac-address 'x'"))
    }

    @Test func cniArgsCarryTheAskedAddressAndMAC() {
        #expect(NetworkAttachment.cniArgs(address: nil, mac: nil) == nil)
        #expect(NetworkAttachment.cniArgs(address: "10.1.2.3", mac: nil) == "IgnoreUnknown=1;IP=10.1.2.3")
        #expect(
            NetworkAttachment.cniArgs(address: "10.1.2.3", mac: "02:42:ac:11:00:02") == "IgnoreUnknown=1;IP=10.1.2.3;MAC=02:42:ac:11:00:02")
        #expect(NetworkAttachment.cniArgs(address: nil, mac: "02:42:ac:11:00:02") == "IgnoreUnknown=1;MAC=02:42:ac:11:00:02")
    }
}

import Engine
import Foundation
import Testing

/// The record's side of `network connect`/`disconnect`: which networks a container is on, the
/// next interface name, docker's refusals, and records written before connect still decoding.
@Suite struct NetworkConnectBookkeepingTests {
    func config(mode: String = "bridge", network: String? = "a", connected: [ConnectedNetwork]? = nil) -> ContainerNetworkConfig {
        var config = ContainerNetworkConfig(mode: mode, network: network, ports: [], hostname: "h", extraHosts: [], aliases: ["web"])
        config.connected = connected
        return config
    }

    @Test func theFirstNetworkComesFirstThenTheConnectedOnesInOrder() {
        let both = config(connected: [ConnectedNetwork(name: "b", aliases: ["x"]), ConnectedNetwork(name: "c", aliases: [])])
        #expect(
            both.allNetworks == [
                ConnectedNetwork(name: "a", aliases: ["web"]), ConnectedNetwork(name: "b", aliases: ["x"]),
                ConnectedNetwork(name: "c", aliases: []),
            ])
        #expect(both.isConnected(to: "b") && !both.isConnected(to: "d"))
        // Disconnected from its first network: only the connected ones are left.
        let rest = config(network: nil, connected: [ConnectedNetwork(name: "b", aliases: [])])
        #expect(rest.allNetworks.map(\.name) == ["b"] && !rest.isConnected(to: "a"))
        #expect(config(network: nil).allNetworks.isEmpty)
    }

    @Test func theNextInterfaceIsTheLowestFreeOne() {
        #expect(Engine.freeInterface(used: []) == "eth0")
        #expect(Engine.freeInterface(used: ["eth0"]) == "eth1")
        #expect(Engine.freeInterface(used: ["eth0", "eth2"]) == "eth1")
        #expect(Engine.freeInterface(used: ["eth1"]) == "eth0")
    }

    @Test func hostNoneAndAlreadyConnectedAreRefusedWithDockersWords() {
        #expect(throws: (any Error).self) { try Engine.checkConnectable(config(mode: "host", network: nil), network: "b", container: "c") }
        #expect(throws: (any Error).self) { try Engine.checkConnectable(config(mode: "none", network: nil), network: "b", container: "c") }
        do {
            try Engine.checkConnectable(config(connected: [ConnectedNetwork(name: "b", aliases: [])]), network: "b", container: "c")
            Issue.record("connected twice")
        } catch {
            #expect("\(error)".hasPrefix("endpoint with name c already exists in network b"))
        }
        #expect(throws: Never.self) { try Engine.checkConnectable(config(), network: "b", container: "c") }
    }

    @Test func recordsFromBeforeConnectDecodeWithNoConnectedNetworks() throws {
        let old = #"{"mode":"bridge","network":"a","ports":[],"hostname":"h","extraHosts":[]}"#
        let decoded = try JSONDecoder().decode(ContainerNetworkConfig.self, from: Data(old.utf8))
        #expect(decoded.connected == nil && decoded.allNetworks.map(\.name) == ["a"])
        var withMore = decoded
        withMore.connected = [ConnectedNetwork(name: "b", aliases: ["x"])]
        let again = try JSONDecoder().decode(ContainerNetworkConfig.self, from: JSONEncoder().encode(withMore))
        #expect(again == withMore)
    }
}

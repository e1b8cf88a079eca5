import Foundation
import Networking
import Testing

/// The network store on temporary directories (its host-global state directory too): no root,
/// no bridge is made (that is the CNI bridge plugin's job, at a container's first start).
@Suite struct NetworkStoreTests {
    final class Scratch {
        let path = NSTemporaryDirectory() + "skiff-netstore-\(UUID().uuidString.prefix(8))"
        deinit { try? FileManager.default.removeItem(atPath: path) }
        func store(_ name: String) -> NetworkStore { NetworkStore(root: path + "/" + name, hostState: path + "/host") }
    }

    @Test func defaultNetworksOfTwoRootsGetDistinctBridgesAndSubnets() throws {
        let scratch = Scratch()
        let a = try scratch.store("a").resolve("bridge")
        let b = try scratch.store("b").resolve("bridge")
        #expect(a.name == "bridge" && a.bridge != b.bridge)
        #expect(!(try IPv4Subnet(parsing: a.subnet)).overlaps(try IPv4Subnet(parsing: b.subnet)))
        #expect(NetworkStore.inPool(try IPv4Subnet(parsing: a.subnet)))
        #expect(try scratch.store("a").resolve("bridge") == a)  // created once
        let routes = HostRoutes.current()
        #expect(!routes.contains { $0.subnet.overlaps(try! IPv4Subnet(parsing: a.subnet)) })
    }

    @Test func explicitSubnetsAndGatewaysAreChecked() throws {
        let scratch = Scratch()
        let store = scratch.store("a")
        let network = try store.create(name: "mine", subnet: "10.222.77.0/24", gateway: "10.222.77.254")
        #expect(network.gateway == "10.222.77.254")
        #expect(store.all().map(\.name) == ["mine"])
        // Another store root cannot take an overlapping subnet while this one holds it.
        #expect(throws: NetworkError.self) { try scratch.store("b").create(name: "other", subnet: "10.222.0.0/16") }
        #expect(throws: NetworkError.networkExists("mine")) { try store.create(name: "mine") }
        #expect(throws: NetworkError.self) { try store.create(name: "gw", subnet: "10.222.78.0/24", gateway: "10.222.79.1") }
        #expect(throws: NetworkError.self) { try store.create(name: "gw", subnet: "10.222.78.0/24", gateway: "10.222.78.255") }
        #expect(throws: NetworkError.self) { try store.create(name: "tiny", subnet: "10.222.78.0/31") }
        #expect(throws: NetworkError.invalidName("../x")) { try store.create(name: "../x") }
        #expect(throws: NetworkError.self) { try store.create(name: "host") }
        #expect(throws: NetworkError.noSuchNetwork("nope")) { try store.definition("nope") }
        // The host's own routes are never shadowed.
        if let route = HostRoutes.current().first(where: { $0.subnet.prefix >= 8 && $0.subnet.prefix <= 30 }) {
            #expect(throws: NetworkError.self) { try store.create(name: "shadow", subnet: route.subnet.description) }
        }
    }
}

import Foundation
import Testing

/// `skiff network connect` and `disconnect`, as docker's: a running container gets one more
/// interface at once and reaches (and is resolved by) the other network's members; a created one
/// gets it at its start; a restart attaches it again; disconnect takes it away; removal leaves no
/// address, veth, namespace or rule on either network. Every ping goes to a container on one of
/// the test's own networks.
@Suite(.serialized, .enabled(if: networkTestsEnabled, networkSkipReason))
struct NetworkConnectTests {
    let helpers = NetworkTests()

    func detached(_ fixture: EngineFixture, _ arguments: [String], command: [String] = ["sleep", "60"]) throws -> String {
        try fixture.skiff("run", ["-d"] + arguments + [fixture.image] + command, check: true).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `ip -4 -o addr` inside the container.
    func addresses(_ fixture: EngineFixture, _ container: String) -> String {
        (try? fixture.skiff("exec", [container, "busybox", "ip", "-4", "-o", "addr"]).stdout) ?? ""
    }

    func ping(_ fixture: EngineFixture, from container: String, _ target: String) throws -> CommandResult {
        try fixture.skiff("exec", [container, "busybox", "ping", "-c1", "-W2", target])
    }

    func networks(_ fixture: EngineFixture, _ container: String) throws -> [String: [String: Any]] {
        let document = try helpers.inspect(fixture, [container]).first ?? [:]
        return ((document["NetworkSettings"] as? [String: Any])?["Networks"] as? [String: [String: Any]]) ?? [:]
    }

    /// The network's subnet, as `network inspect` shows it.
    func subnet(_ fixture: EngineFixture, _ network: String) throws -> String? {
        let result = try fixture.network("inspect", [network], check: true)
        let views = (try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))) as? [[String: Any]] ?? []
        return ((views.first?["IPAM"] as? [String: Any])?["Config"] as? [[String: String]])?.first?["Subnet"]
    }

    @Test func aRunningContainerGetsAndLosesAnInterface() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let suffix = UUID().uuidString.prefix(6).lowercased()
        let (netA, netB) = ("ca-\(suffix)", "cb-\(suffix)")
        try fixture.network("create", [netA], check: true)
        try fixture.network("create", [netB], check: true)
        let x = try detached(fixture, ["--name", "x-\(suffix)", "--network", netA])
        let y = try detached(fixture, ["--name", "y-\(suffix)", "--network", netB])
        #expect(!addresses(fixture, x).contains("eth1"))

        let connect = try fixture.network("connect", ["--alias", "xa-\(suffix)", netB, "x-\(suffix)"])
        #expect(connect.status == 0, "\(connect.stderr)")
        let eth1 = addresses(fixture, x)
        #expect(eth1.contains("eth0") && eth1.contains("eth1"), "\(eth1)")
        let both = try networks(fixture, x)
        #expect(Set(both.keys) == [netA, netB], "\(both)")
        let yAddress = try #require((try networks(fixture, y))[netB]?["IPAddress"] as? String)
        let xOnB = try #require(both[netB]?["IPAddress"] as? String)
        #expect(eth1.contains(xOnB + "/"))
        // Reached by address and name both ways, by its alias on that network.
        for target in [yAddress, "y-\(suffix)"] {
            let result = try ping(fixture, from: x, target)
            #expect(result.status == 0, "ping \(target): \(result.stdout) \(result.stderr)")
        }
        for target in ["x-\(suffix)", "xa-\(suffix)", String(x.prefix(12))] {
            let result = try ping(fixture, from: y, target)
            #expect(result.status == 0, "ping \(target): \(result.stdout) \(result.stderr)")
        }
        #expect(try fixture.skiff("ps", [], check: true).stdout.contains("x-\(suffix)"))
        // Network inspect lists it on both.
        #expect(try fixture.network("inspect", [netB], check: true).stdout.contains("x-\(suffix)"))

        // The network is in use; a rename is seen on the connected network too.
        let inUse = try fixture.network("rm", [netB])
        #expect(inUse.status == 1 && inUse.stderr.contains("in use"), "\(inUse.stderr)")
        try fixture.skiff("rename", [x, "xr-\(suffix)"], check: true)
        #expect(try ping(fixture, from: y, "xr-\(suffix)").status == 0)
        try fixture.skiff("rename", [x, "x-\(suffix)"], check: true)

        // docker's refusals, exit 1.
        let twice = try fixture.network("connect", [netB, x])
        #expect(twice.status == 1 && twice.stderr.contains("already exists in network \(netB)"), "\(twice.stderr)")
        let unknown = try fixture.network("connect", ["nonet-\(suffix)", x])
        #expect(unknown.status == 1 && unknown.stderr.contains("not found"), "\(unknown.stderr)")
        let nobody = try fixture.network("connect", [netB, "nobody-\(suffix)"])
        #expect(nobody.status != 0 && nobody.stderr.contains("no such container"), "\(nobody.stderr)")

        // Disconnect: the interface and the names go.
        try fixture.network("disconnect", [netB, x], check: true)
        #expect(!addresses(fixture, x).contains("eth1"), "\(addresses(fixture, x))")
        #expect(Set(try networks(fixture, x).keys) == [netA])
        #expect(try ping(fixture, from: y, "x-\(suffix)").status != 0)
        let notOn = try fixture.network("disconnect", [netB, x])
        #expect(notOn.status == 1 && notOn.stderr.contains("is not connected to network \(netB)"), "\(notOn.stderr)")
        #expect(try fixture.network("disconnect", ["-f", netB, x]).status == 0)
        // The last network too: only loopback is left.
        try fixture.network("disconnect", [netA, x], check: true)
        let none = addresses(fixture, x)
        #expect(none.contains("lo") && !none.contains("eth"), "\(none)")
        // Connected again with --ip: back on the network with that address, and reachable.
        let subnetB = try #require(try subnet(fixture, netB))
        let outside = try fixture.network("connect", ["--ip", "192.0.2.7", netB, x])
        #expect(outside.status == 1 && outside.stderr.contains("no configured subnet contains IP address 192.0.2.7"), "\(outside.stderr)")
        let chosen = subnetB.split(separator: ".").prefix(3).joined(separator: ".") + ".200"
        try fixture.network("connect", ["--ip", chosen, netB, x], check: true)
        #expect(addresses(fixture, x).contains("eth0") && addresses(fixture, x).contains(chosen + "/"), "\(addresses(fixture, x))")
        #expect(try ping(fixture, from: y, "x-\(suffix)").status == 0)
        #expect(try ping(fixture, from: x, yAddress).status == 0)

        try fixture.skiff("rm", ["-f", x, y], check: true)
        for network in [netA, netB] {
            let found = helpers.leftovers(fixture, ids: [x, y], bridge: try helpers.bridge(fixture, network: network), network: network)
            #expect(found.isEmpty, "\(network): \(found)")
        }
    }

    @Test func aCreatedContainerIsAttachedAtItsStartAndARestartAttachesAgain() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let suffix = UUID().uuidString.prefix(6).lowercased()
        let (netA, netB) = ("cc-\(suffix)", "cd-\(suffix)")
        try fixture.network("create", [netA], check: true)
        try fixture.network("create", [netB], check: true)
        let peer = try detached(fixture, ["--name", "peer-\(suffix)", "--network", netB])
        // Exits after 2 s and is restarted (--restart always).
        let created = try fixture.skiff(
            "create",
            [
                "--name", "c-\(suffix)", "--network", netA, "--restart", "always", fixture.image,
                "sleep", "2",
            ], check: true
        ).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try fixture.network("connect", [netB, created], check: true)
        try fixture.skiff("start", [created], check: true)
        #expect(addresses(fixture, created).contains("eth1"), "\(addresses(fixture, created))")
        #expect(Set(try networks(fixture, created).keys) == [netA, netB])
        #expect(try ping(fixture, from: peer, "c-\(suffix)").status == 0)

        // After a restart both networks are attached again.
        #expect(
            eventually(20) {
                ((fixture.record(created)?["restartCount"] as? Int) ?? 0) >= 1
                    && addresses(fixture, created).contains("eth1")
            }, "\(addresses(fixture, created))")
        #expect(eventually(10) { (try? ping(fixture, from: peer, "c-\(suffix)").status) == 0 })

        // --network host and none cannot be connected.
        for mode in ["host", "none"] {
            let other = try fixture.skiff("create", ["--network", mode, fixture.image, "true"], check: true).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let refused = try fixture.network("connect", [netB, other])
            #expect(refused.status == 1 && refused.stderr.contains("cannot be connected"), "\(mode): \(refused.stderr)")
        }

        // rm -f while running (or between restarts) and a detached --rm container leave nothing.
        let once = try detached(fixture, ["--rm", "--network", netA], command: ["sleep", "2"])
        try fixture.network("connect", [netB, once], check: true)
        try fixture.skiff("rm", ["-f", created, peer], check: true)
        #expect(eventually(20) { fixture.record(once) == nil })
        for network in [netA, netB] {
            let bridge = try helpers.bridge(fixture, network: network)
            #expect(
                eventually(10) { helpers.leftovers(fixture, ids: [created, peer, once], bridge: bridge, network: network).isEmpty },
                "\(network): \(helpers.leftovers(fixture, ids: [created, peer, once], bridge: bridge, network: network))")
        }
    }
}

import Foundation
import Testing

let haveNetworkTools = ["/usr/lib/cni/bridge", "/usr/lib/cni/host-local", "/usr/lib/cni/portmap", "/usr/sbin/iptables", "/usr/sbin/ip"]
    .allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }
let networkTestsEnabled = engineTestsEnabled && haveNetworkTools
let networkSkipReason: Comment =
    "needs root, umoci, busybox-static, containernetworking-plugins, iptables and iproute2 (scripts/install-deps.sh)"

/// Bridge networking through the CNI plugins: published ports reached from the host on
/// 127.0.0.1, containers reaching each other, resolv.conf/hosts, user networks, and that nothing
/// (namespace, IP allocation, veth, iptables rule) outlives a container, even a monitor's kill -9.
/// Every test talks only to 127.0.0.1 and the addresses of the bridges it made.
@Suite(.serialized, .enabled(if: networkTestsEnabled, networkSkipReason))
struct NetworkTests {
    /// Containers' inspect documents.
    func inspect(_ fixture: EngineFixture, _ ids: [String]) throws -> [[String: Any]] {
        let result = try fixture.skiff("inspect", ids, check: true)
        return (try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))) as? [[String: Any]] ?? []
    }

    func ipAddress(_ document: [String: Any]) -> String {
        ((document["NetworkSettings"] as? [String: Any])?["IPAddress"] as? String) ?? ""
    }

    func bridge(_ fixture: EngineFixture, network: String) throws -> String {
        let result = try fixture.network("inspect", [network], check: true)
        let views = (try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))) as? [[String: Any]] ?? []
        return ((views.first?["Options"] as? [String: String])?["com.docker.network.bridge.name"]) ?? ""
    }

    /// A TCP port nobody uses right now (`freeLoopbackPort`).
    func freePort() -> UInt16 { UInt16(freeLoopbackPort()) }

    /// What must be gone once a container is removed: its namespace, its IP reservation, its
    /// veth on the bridge and its iptables rules.
    func leftovers(_ fixture: EngineFixture, ids: [String], bridge: String, network: String = "bridge") -> [String] {
        var found: [String] = []
        let namespaces = (try? FileManager.default.contentsOfDirectory(atPath: fixture.path + "/netns")) ?? []
        found += namespaces.map { "netns \($0)" }
        let ipam = (try? FileManager.default.contentsOfDirectory(atPath: fixture.root + "/networks/ipam/" + network)) ?? []
        found += ipam.filter { $0.first?.isNumber == true && $0.contains(".") && !$0.hasPrefix("last_reserved") }.map { "ip \($0)" }
        let ports = (try? FileManager.default.contentsOfDirectory(atPath: "/sys/class/net/\(bridge)/brif")) ?? []
        found += ports.map { "veth \($0)" }
        let rules = (try? run(["/usr/sbin/iptables-save"], check: false).stdout) ?? ""
        for line in rules.split(separator: "\n") where ids.contains(where: { line.contains($0) }) { found.append("rule \(line)") }
        return found
    }

    @Test func publishedPortsReachAServerFromTheHost() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        try FileManager.default.createDirectory(atPath: fixture.path + "/www", withIntermediateDirectories: true)
        try "hello from the container\n".write(toFile: fixture.path + "/www/index.html", atomically: true, encoding: .utf8)
        let port = freePort()
        let started = try fixture.skiff(
            "run",
            [
                "-d", "-p", "127.0.0.1:\(port):80", "-p", "80", "-v", fixture.path + "/www:/www:ro",
                fixture.image, "httpd", "-f", "-p", "80", "-h", "/www",
            ], check: true)
        let id = started.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(eventually(15) { hostGet(port: port) == "hello from the container\n" })

        // The fixed host port and the random one (-p 80), as inspect and ps show them; both reach the server.
        let document = try #require(try inspect(fixture, [id]).first)
        let settings = try #require(document["NetworkSettings"] as? [String: Any])
        let ports = try #require(settings["Ports"] as? [String: [[String: String]]])
        let bindings = try #require(ports["80/tcp"])
        #expect(bindings.count == 2)
        #expect(bindings.first?["HostPort"] == "\(port)")
        #expect(bindings.first?["HostIp"] == "127.0.0.1")
        let random = try #require(bindings.last?["HostPort"].flatMap { UInt16($0) })
        #expect(random > 0 && random != port)
        #expect(hostGet(port: random) == "hello from the container\n")
        #expect(ipAddress(document).hasPrefix("10."))
        let ps = try fixture.skiff("ps", [], check: true).stdout
        #expect(ps.contains("127.0.0.1:\(port)->80/tcp") && ps.contains("0.0.0.0:\(random)->80/tcp"), "\(ps)")

        // The same host port again, from another container: refused with nothing made.
        let before = fixture.containerIDs()
        let clash = try fixture.skiff("run", ["--rm", "-p", "\(port):80", fixture.image, "true"])
        #expect(clash.status == 125)
        #expect(clash.stderr.contains("already in use"), "\(clash.stderr)")
        #expect(fixture.containerIDs() == before)

        let bridgeName = try bridge(fixture, network: "bridge")
        try fixture.skiff("rm", ["-f", id], check: true)
        #expect(hostGet(port: port) == nil)
        #expect(leftovers(fixture, ids: [id], bridge: bridgeName).isEmpty, "\(leftovers(fixture, ids: [id], bridge: bridgeName))")
    }

    @Test func publishAllPublishesTheImagesExposedPorts() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let id = try fixture.skiff(
            "run", ["-d", "-P", fixture.image, "sh", "-c", "echo exposed > /tmp/index.html; httpd -f -p 80 -h /tmp"],
            check: true
        ).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let document = try #require(try inspect(fixture, [id]).first)
        let ports = (document["NetworkSettings"] as? [String: Any])?["Ports"] as? [String: [[String: String]]]
        let port = try #require(ports?["80/tcp"]?.first?["HostPort"].flatMap { UInt16($0) })
        #expect(eventually(15) { hostGet(port: port) == "exposed\n" })
    }

    @Test func aPortHeldByAHostProgramIsAClearError() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let (listener, bound) = boundLoopbackSocket()
        defer { close(listener) }
        listen(listener, 1)
        let port = UInt16(bound)
        let result = try fixture.skiff("run", ["-d", "-p", "\(port):80", fixture.image, "sleep", "10"])
        #expect(result.status == 125)
        #expect(result.stderr.contains("\(port)") && result.stderr.contains("already in use"), "\(result.stderr)")
        #expect(fixture.containerIDs().isEmpty)
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: fixture.path + "/netns")) ?? []).isEmpty)
        let bad = try fixture.skiff("run", ["--rm", "-p", "80:80:80:80", fixture.image, "true"])
        #expect(bad.status == 125)
        #expect(bad.stderr.contains("invalid port"))
    }

    @Test func containersOnOneNetworkReachEachOtherAndSeeTheirHostFiles() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let server = try fixture.skiff(
            "run", ["-d", "--name", "web", fixture.image, "sh", "-c", "echo pong > /tmp/i; httpd -f -p 80 -h /tmp"],
            check: true
        ).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let serverIP = ipAddress(try #require(try inspect(fixture, [server]).first))
        #expect(!serverIP.isEmpty)
        var reply = ""
        #expect(
            try eventually(15) {
                reply = try fixture.skiff("run", ["--rm", fixture.image, "timeout", "5", "wget", "-q", "-O", "-", "http://\(serverIP)/i"])
                    .stdout
                return reply == "pong\n"
            }, "\(reply)")

        let files = try fixture.skiff(
            "run",
            [
                "--rm", "--name", "client", "--hostname", "box", "--dns", "192.0.2.53", "--dns-search", "example.test",
                "--add-host", "db:10.1.2.3", fixture.image, "sh", "-c", "cat /etc/resolv.conf /etc/hosts; ip -4 -o addr show eth0",
            ], check: true
        ).stdout
        #expect(files.contains("nameserver 192.0.2.53\n") && files.contains("search example.test\n"), "\(files)")
        #expect(files.contains("10.1.2.3\tdb\n"), "\(files)")
        // The container's own address with its hostname and name.
        let lines = files.split(separator: "\n").map(String.init)
        let own = try #require(lines.first { $0.hasSuffix("\tbox client") })
        let address = String(own.prefix { $0 != "\t" })
        #expect(files.contains("inet \(address)/"), "\(files)")
    }

    @Test func userNetworksCreateListInspectRemove() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let name = "net-\(UUID().uuidString.prefix(8).lowercased())"
        // A subnet outside the automatic pool; another test run may hold one, so try a few.
        var subnet = ""
        for third in (0..<8).map({ _ in Int.random(in: 1...250) }) {
            subnet = "10.222.\(third).0/24"
            if try fixture.network("create", ["--subnet", subnet, "--gateway", "10.222.\(third).254", name]).status == 0 { break }
            subnet = ""
        }
        #expect(!subnet.isEmpty)
        let list = try fixture.network("ls", [], check: true).stdout
        #expect(list.contains(name) && list.contains(subnet), "\(list)")
        #expect(try fixture.network("create", [name]).status == 125)
        #expect(try fixture.network("create", ["--subnet", "10.222.0.1/24", "other"]).stderr.contains("host bits"))
        #expect(try fixture.network("create", ["--subnet", subnet, "other"]).stderr.contains("overlaps"))
        #expect(try fixture.network("create", ["bad/name"]).status != 0)

        let prefix = String(subnet.dropLast(4))  // "10.222.N."
        let address = try fixture.skiff(
            "run", ["--rm", "--network", name, fixture.image, "sh", "-c", "ip -4 -o addr show eth0; ip route"],
            check: true
        ).stdout
        #expect(address.contains("inet \(prefix)"), "\(address)")
        #expect(address.contains("default via \(prefix)254"), "\(address)")

        let created = try fixture.skiff("create", ["--network", name, fixture.image, "true"], check: true).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let refused = try fixture.network("rm", [name])
        #expect(refused.status != 0 && refused.stderr.contains("in use"), "\(refused.stderr)")
        let bridgeName = try bridge(fixture, network: name)
        #expect(bridgeName.hasPrefix("sk"))
        try fixture.skiff("rm", [created], check: true)
        try fixture.network("rm", [name], check: true)
        #expect(!(try fixture.network("ls", [], check: true).stdout.contains(name)))
        #expect(!FileManager.default.fileExists(atPath: "/sys/class/net/\(bridgeName)"))
        #expect(try fixture.skiff("run", ["--rm", "--network", name, fixture.image, "true"]).status == 125)
    }

    @Test func theMonitorTearsTheNetworkDownWhenTheContainerExits() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let id = try fixture.skiff("run", ["-d", "-p", "80", fixture.image, "sh", "-c", "sleep 0.2"], check: true).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let bridgeName = try bridge(fixture, network: "bridge")
        #expect(
            eventually(10) { leftovers(fixture, ids: [id], bridge: bridgeName).isEmpty },
            "\(leftovers(fixture, ids: [id], bridge: bridgeName))")
        #expect(fixture.containerIDs() == [id])
        // It starts again with a fresh namespace.
        #expect(try fixture.skiff("start", ["-a", id]).status == 0)
    }

    /// `run --rm` returns once the container is removed; its monitor finishes the network
    /// teardown (kept outside the removed directory) right after, and leaves nothing.
    @Test func runRmLeavesNoNetworkBehind() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let name = "rm-" + UUID().uuidString.prefix(8).lowercased()
        let run = try fixture.skiff(
            "run", ["--rm", "--name", name, "-p", "80", fixture.image, "sh", "-c", "ip -4 -o addr show eth0"], check: true)
        #expect(run.stdout.contains("inet 10."), "\(run.stdout)")
        #expect(fixture.containerIDs().isEmpty, "removed before run returned")
        let bridgeName = try bridge(fixture, network: "bridge")
        let pending = fixture.root + "/networks/teardown"
        #expect(
            eventually(10) {
                leftovers(fixture, ids: [name], bridge: bridgeName).isEmpty
                    && ((try? FileManager.default.contentsOfDirectory(atPath: pending)) ?? []).isEmpty
            }, "\(leftovers(fixture, ids: [name], bridge: bridgeName))")
        // A pending teardown left by a monitor that died is finished by `network rm`/`prune`:
        // simulate one by hand from a container's live network state.
        let id = try fixture.skiff("run", ["-d", fixture.image, "sleep", "30"], check: true).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(eventually(10) { FileManager.default.fileExists(atPath: fixture.root + "/containers/\(id)/network.json") })
        try FileManager.default.createDirectory(atPath: pending, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: fixture.root + "/containers/\(id)/network.json", toPath: pending + "/\(id).json")
        try fixture.skiff("rm", ["-f", id], check: true)
        let prune = try fixture.skiffGroup("container", "prune", ["-f"])
        #expect(prune.status == 0, "\(prune.stderr)")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: pending)) ?? []).isEmpty)
        #expect(leftovers(fixture, ids: [id], bridge: bridgeName).isEmpty, "\(leftovers(fixture, ids: [id], bridge: bridgeName))")
    }

    @Test func eachRestartGetsTheNetworkAndTheLastExitLeavesNothing() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let id = try fixture.skiff(
            "run",
            [
                "-d", "--restart", "on-failure:2", "-p", "80", fixture.image, "sh", "-c",
                "ip -4 -o addr show eth0 | grep -c inet; exit 3",
            ], check: true
        ).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        // Three runs (the first and two restarts), each with its own eth0 address.
        var logs = ""
        #expect(
            try eventually(20) {
                logs = try fixture.skiff("logs", [id], check: true).stdout
                return logs == "1\n1\n1\n"
            }, "\(logs)")
        #expect(try eventually(10) { try fixture.skiff("ps", ["-a"], check: true).stdout.contains("Exited (3)") })
        let bridgeName = try bridge(fixture, network: "bridge")
        #expect(
            eventually(10) { leftovers(fixture, ids: [id], bridge: bridgeName).isEmpty },
            "\(leftovers(fixture, ids: [id], bridge: bridgeName))")
    }

    @Test func killingTheMonitorLeaksNothingAfterRmForce() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let id = try fixture.skiff("run", ["-d", "-p", "80", fixture.image, "sleep", "300"], check: true).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let bridgeName = try bridge(fixture, network: "bridge")
        #expect(!leftovers(fixture, ids: [id], bridge: bridgeName).isEmpty)
        let monitor = try #require(fixture.record(id)?["monitorPid"] as? Int)
        kill(pid_t(monitor), SIGKILL)
        #expect(eventually(15) { !processExists(monitor) })
        try fixture.skiff("rm", ["-f", id], check: true)
        #expect(leftovers(fixture, ids: [id], bridge: bridgeName).isEmpty, "\(leftovers(fixture, ids: [id], bridge: bridgeName))")
    }

    @Test func killingTheMonitorDuringNetworkSetupLeaksNothingAfterRmForce() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        // A published port makes the setup long (bridge, then portmap): kill the monitor in it.
        let id = try fixture.skiff("create", ["-p", "80", fixture.image, "sleep", "300"], check: true).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let started = DispatchSemaphore(value: 0)
        Thread {
            _ = try? fixture.skiff("start", [id])
            started.signal()
        }.start()
        #expect(eventually(20) { FileManager.default.fileExists(atPath: fixture.path + "/netns/" + id) })
        var monitor: Int?
        #expect(
            eventually(15) {
                monitor = fixture.record(id)?["monitorPid"] as? Int
                return monitor != nil
            })
        if let monitor { kill(pid_t(monitor), SIGKILL) }
        started.wait()
        let bridgeName = try bridge(fixture, network: "bridge")
        try fixture.skiff("rm", ["-f", id], check: true)
        let left = leftovers(fixture, ids: [id], bridge: bridgeName)
        #expect(left.isEmpty, "\(left)")
    }

    @Test func aHundredContainersInParallelGetDistinctAddressesAndCleanUp() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let count = 100
        let results = inParallel(count) { index in
            try? fixture.skiff("run", ["-d", "--name", "par\(index)", "-p", "80", fixture.image, "sleep", "600"])
        }
        var ids: [String] = []
        var failures: [String] = []
        for result in results {
            if let result, result.status == 0 {
                ids.append(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
            } else {
                failures.append(result?.stderr ?? "did not run")
            }
        }
        #expect(failures.isEmpty, "\(failures.prefix(3))")
        #expect(ids.count == count)
        let addresses = try inspect(fixture, ids).map(ipAddress)
        #expect(Set(addresses).count == count && !addresses.contains(""), "\(addresses)")
        let bridgeName = try bridge(fixture, network: "bridge")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: "/sys/class/net/\(bridgeName)/brif")) ?? []).count == count)

        try fixture.skiff("rm", ["-f"] + ids, check: true)
        #expect(fixture.containerIDs().isEmpty)
        let left = leftovers(fixture, ids: ids, bridge: bridgeName)
        #expect(left.isEmpty, "\(left.prefix(5))")
    }
}

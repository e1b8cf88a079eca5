import Foundation
import Testing

/// `network create --label/--opt/--internal` and `network ls -q/--format/--filter`, as docker's.
@Suite(.serialized, .enabled(if: engineTestsEnabled, skipReason))
struct NetworkOptionTests {
    @Test func labelsMTUAndListing() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let name = "opt-\(UInt32.random(in: 0...UInt32.max))"
        let created = try fixture.network(
            "create", ["--label", "team=web", "--opt", "com.docker.network.driver.mtu=1400", name], check: true)
        let id = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let inspect = try fixture.network("inspect", ["-f", "{{.Labels.team}} {{index .Options \"com.docker.network.driver.mtu\"}}", name])
        #expect(inspect.stdout == "web 1400\n", "\(inspect.stdout)\(inspect.stderr)")
        let mtu = try fixture.skiff("run", ["--rm", "--network", name, fixture.image, "cat", "/sys/class/net/eth0/mtu"])
        #expect(mtu.stdout == "1400\n", "\(mtu.stdout)\(mtu.stderr)")

        let quiet = try fixture.network("ls", ["-q", "--filter", "label=team=web"])
        #expect(quiet.stdout == String(id.prefix(12)) + "\n", "network ls -q prints IDs: \(quiet.stdout)\(quiet.stderr)")
        #expect(try fixture.network("ls", ["-q", "--no-trunc", "--filter", "name=\(name)"]).stdout == id + "\n")
        let formatted = try fixture.network(
            "ls", ["--filter", "id=\(id.prefix(8))", "--format", "{{.Name}} {{.Label \"team\"}} {{.Internal}}"])
        #expect(formatted.stdout == "\(name) web false\n", "\(formatted.stdout)\(formatted.stderr)")
        #expect(try fixture.network("ls", ["--filter", "colour=red"]).status != 0)

        let badOption = try fixture.network("create", ["--opt", "com.docker.network.bridge.enable_icc=false", name + "-x"])
        #expect(badOption.status != 0 && badOption.stderr.contains("com.docker.network.driver.mtu=N"), "\(badOption.stderr)")
        let badMTU = try fixture.network("create", ["--opt", "com.docker.network.driver.mtu=9", name + "-y"])
        #expect(badMTU.status != 0 && badMTU.stderr.contains("between 68 and 65535"), "\(badMTU.stderr)")

        // docker takes a network's ID (or a unique prefix of it) wherever it takes its name.
        let removed = try fixture.network("rm", [String(id.prefix(10))])
        #expect(removed.status == 0, "\(removed.stderr)")
        #expect(try fixture.network("ls", ["-q", "--filter", "name=\(name)"]).stdout.isEmpty)
    }

    /// An internal network's containers reach each other and the host, nothing beyond the bridge:
    /// a container on another network of the same store is out of reach both ways.
    @Test func anInternalNetworkIsCutOff() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let tag = UInt32.random(in: 0...UInt32.max)
        let inside = "in-\(tag)", outside = "out-\(tag)"
        try fixture.network("create", ["--internal", inside], check: true)
        try fixture.network("create", [outside], check: true)
        #expect(try fixture.network("inspect", ["-f", "{{.Internal}}", inside]).stdout == "true\n")
        try fixture.skiff(
            "run", ["-d", "--name", "web-\(tag)", "--network", outside, fixture.image, "httpd", "-f", "-p", "80", "-h", "/etc"], check: true
        )
        try fixture.skiff(
            "run", ["-d", "--name", "peer-\(tag)", "--network", inside, fixture.image, "httpd", "-f", "-p", "80", "-h", "/etc"], check: true
        )
        let web = try fixture.skiff("inspect", ["-f", "{{.NetworkSettings.IPAddress}}", "web-\(tag)"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let peer = try fixture.skiff("inspect", ["-f", "{{.NetworkSettings.IPAddress}}", "peer-\(tag)"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let fetch = { (network: String, address: String) in
            // Not wget as PID 1: a signal from inside the namespace would not end it (timeout's SIGTERM).
            try fixture.skiff(
                "run", ["--rm", "--network", network, fixture.image, "sh", "-c", "timeout 5 wget -qO- http://\(address)/hostname"])
        }
        // The control: from a normal network the other network's container answers.
        #expect(try fetch(outside, web).status == 0, "control: the outside container serves")
        #expect(try fetch(inside, peer).status == 0, "members of the internal network reach each other")
        #expect(try fetch(inside, web).status != 0, "the internal network reaches nothing beyond its bridge")
        #expect(try fetch(outside, peer).status != 0, "and nothing beyond reaches in")
        for name in ["web-\(tag)", "peer-\(tag)"] { try fixture.skiff("rm", ["-f", name]) }
        let bridge = try fixture.network("inspect", ["-f", "{{index .Options \"com.docker.network.bridge.name\"}}", inside]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        try fixture.network("rm", [inside, outside], check: true)
        let rules = try run(["/usr/sbin/iptables", "-w", "5", "-S", "FORWARD"]).stdout
        #expect(!rules.contains("skiff internal network \(bridge)"), "network rm takes the isolation rules along")
    }
}

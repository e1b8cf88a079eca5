import Foundation
import Testing

/// Whether this host has ::1 on its loopback (IPv6 not disabled).
let hostHasIPv6Loopback: Bool = {
    let table = (try? String(contentsOfFile: "/proc/net/if_inet6", encoding: .utf8)) ?? ""
    return table.split(separator: "\n").contains { $0.hasPrefix("00000000000000000000000000000001 ") }
}()

/// `--network container:NAME`, `--mac-address` and `-p [::1]:H:C` on real containers, each seen
/// from inside the container and from the host. Talks only to 127.0.0.1, ::1 and the test's bridges.
@Suite(.serialized, .enabled(if: networkTestsEnabled, networkSkipReason))
struct NetworkModeTests {
    func trimmed(_ result: CommandResult) -> String { result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) }

    func netnsFiles(_ fixture: EngineFixture) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: fixture.path + "/netns")) ?? []
    }

    /// docker's container network mode: the joiner has the owner's interface, address, hostname,
    /// host files and loopback; it keeps running without network when the owner stops, cannot
    /// start while the owner is stopped, and joins it again once the owner runs.
    @Test func joiningAnotherContainersNetwork() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let owner = "own-\(UInt32.random(in: 0...UInt32.max))"
        let joiner = owner + "-j"
        let ownerID = trimmed(
            try fixture.skiff(
                "run",
                [
                    "-d", "--name", owner, "--hostname", "ownerbox", fixture.image, "sh", "-c",
                    "echo shared > /tmp/i; httpd -f -p 8080 -h /tmp",
                ],
                check: true))
        let ownerIP = trimmed(try fixture.skiff("inspect", ["-f", "{{.NetworkSettings.IPAddress}}", owner], check: true))
        #expect(ownerIP.hasPrefix("10."))

        var seen = ""
        #expect(
            try eventually(15) {
                seen = try fixture.skiff(
                    "run",
                    [
                        "--rm", "--network", "container:\(owner)", fixture.image, "sh", "-c",
                        "ip -4 -o addr show eth0; hostname; cat /etc/hosts; timeout 5 wget -q -O - http://127.0.0.1:8080/i",
                    ]
                ).stdout
                return seen.contains("shared")
            }, "\(seen)")
        #expect(seen.contains("inet \(ownerIP)/"), "\(seen)")
        #expect(seen.contains("ownerbox"), "\(seen)")

        // Detached: inspect says whose network it is (by ID) and that it has no address of its own.
        try fixture.skiff("run", ["-d", "--name", joiner, "--network", "container:\(owner)", fixture.image, "sleep", "300"], check: true)
        #expect(
            trimmed(try fixture.skiff("inspect", ["-f", "{{.HostConfig.NetworkMode}}|{{.NetworkSettings.IPAddress}}", joiner]))
                == "container:\(ownerID)|")
        let namespace = { (name: String) in self.trimmed(try fixture.skiff("exec", [name, "readlink", "/proc/self/ns/net"])) }
        #expect(try namespace(joiner) == namespace(owner))
        let connect = try fixture.network("connect", ["bridge", joiner])
        #expect(connect.status != 0 && connect.stderr.contains("sharing network namespace"), "\(connect.stderr)")

        // The owner stops: not refused, and the joiner runs on with loopback only (docker's behaviour).
        try fixture.skiff("stop", ["-t", "1", owner], check: true)
        var links = ""
        #expect(
            try eventually(15) {
                links = try fixture.skiff("exec", [joiner, "ip", "-o", "link"]).stdout
                return !links.isEmpty && !links.contains("eth0")
            }, "\(links)")
        #expect(trimmed(try fixture.skiff("inspect", ["-f", "{{.State.Running}}", joiner])) == "true")

        // A joiner cannot start while its owner is stopped; it joins the owner's namespace again once it runs.
        try fixture.skiff("stop", ["-t", "1", joiner], check: true)
        let refused = try fixture.skiff("start", [joiner])
        #expect(
            refused.status != 0 && refused.stderr.contains("cannot join network of a non running container: \(owner)"), "\(refused.stderr)")
        try fixture.skiff("start", [owner], check: true)
        try fixture.skiff("start", [joiner], check: true)
        #expect(try namespace(joiner) == namespace(owner))
        #expect(try fixture.skiff("exec", [joiner, "ip", "-o", "link"]).stdout.contains("eth0"))

        // Refusals with docker's words, before anything is made.
        let before = fixture.containerIDs()
        for (extra, words) in [
            (["-p", "8081:80"], "port publishing"), (["--hostname", "x"], "hostname"), (["--dns", "192.0.2.1"], "dns"),
            (["--add-host", "db:10.0.0.1"], "custom host-to-IP mapping"), (["--mac-address", "02:42:ac:11:00:09"], "mac-address"),
        ] {
            let result = try fixture.skiff("run", ["--rm", "--network", "container:\(owner)"] + extra + [fixture.image, "true"])
            #expect(result.status == 125 && result.stderr.contains("conflicting options: \(words)"), "\(extra): \(result.stderr)")
        }
        let missing = try fixture.skiff("run", ["--rm", "--network", "container:no-such-\(owner)", fixture.image, "true"])
        #expect(missing.status == 125 && missing.stderr.contains("no-such-\(owner)"), "\(missing.stderr)")
        #expect(fixture.containerIDs() == before)

        // rm -f of the owner under a running joiner is not refused; nothing of either is left.
        try fixture.skiff("rm", ["-f", owner], check: true)
        try fixture.skiff("rm", ["-f", joiner], check: true)
        #expect(netnsFiles(fixture).isEmpty, "\(netnsFiles(fixture))")
    }

    /// --mac-address on the default bridge and on a user network, across a restart, seen with
    /// `ip link` inside and in inspect; refused where the container has no interface of its own.
    @Test func macAddressOnBridgeAndUserNetworks() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let onBridge = try fixture.skiff(
            "run", ["--rm", "--mac-address", "02:42:AC:11:99:01", fixture.image, "ip", "-o", "link", "show", "eth0"], check: true)
        #expect(onBridge.stdout.contains("link/ether 02:42:ac:11:99:01 "), "\(onBridge.stdout)")

        let network = "mac-\(UInt32.random(in: 0...UInt32.max))"
        try fixture.network("create", [network], check: true)
        let name = network + "-c"
        try fixture.skiff(
            "run", ["-d", "--name", name, "--network", network, "--mac-address", "02-42-ac-11-99-02", fixture.image, "sleep", "300"],
            check: true)
        #expect(trimmed(try fixture.skiff("exec", [name, "cat", "/sys/class/net/eth0/address"])) == "02:42:ac:11:99:02")
        #expect(trimmed(try fixture.skiff("inspect", ["-f", "{{.NetworkSettings.MacAddress}}", name])) == "02:42:ac:11:99:02")
        try fixture.skiff("restart", ["-t", "1", name], check: true)
        #expect(trimmed(try fixture.skiff("exec", [name, "cat", "/sys/class/net/eth0/address"])) == "02:42:ac:11:99:02")

        for (extra, words) in [
            (["--network", "none", "--mac-address", "02:42:ac:11:99:03"], "conflicting options: mac-address"),
            (["--network", "host", "--mac-address", "02:42:ac:11:99:03"], "conflicting options: mac-address"),
            (["--mac-address", "01:00:5e:00:00:01"], "multicast"), (["--mac-address", "02:42:ac:11:99"], "six hexadecimal octets"),
        ] {
            let result = try fixture.skiff("run", ["--rm"] + extra + [fixture.image, "true"])
            #expect(result.status == 125 && result.stderr.contains(words), "\(extra): \(result.stderr)")
        }
    }

    /// -p [::1]:H:C: reached from the host on ::1 (relayed by the monitor, as docker's userland
    /// proxy does), a megabyte intact, shown by port/ps/inspect as docker shows it, the port held
    /// for the container's life and free again after it.
    @Test(.enabled(if: hostHasIPv6Loopback, "the host has no ::1 (IPv6 disabled)"))
    func publishedOnTheIPv6Loopback() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let port = NetworkTests().freePort()
        let everyAddress = NetworkTests().freePort()
        let name = "six-\(UInt32.random(in: 0...UInt32.max))"
        try fixture.skiff(
            "run",
            [
                "-d", "--name", name, "-p", "[::1]:\(port):80", "-p", "[::1]::80", "-p", "127.0.0.1::80", "-p", "[::]:\(everyAddress):81",
                fixture.image, "sh", "-c",
                "echo six > /tmp/i; dd if=/dev/zero bs=1024 count=1024 2>/dev/null | tr '\\0' x > /tmp/big; httpd -p 81 -h /tmp; httpd -f -p 80 -h /tmp",
            ], check: true)
        #expect(eventually(15) { hostGet(port: port, path: "/i", ipv6: true) == "six\n" })
        #expect(hostGet(port: port, path: "/big", ipv6: true) == String(repeating: "x", count: 1 << 20))
        // [::] (every IPv6 address of the host) is reached on ::1 too.
        #expect(hostGet(port: everyAddress, path: "/i", ipv6: true) == "six\n")

        let listed = try fixture.skiff("port", [name], check: true).stdout
        #expect(listed.contains("80/tcp -> [::1]:\(port)") && listed.contains("81/tcp -> [::]:\(everyAddress)"), "\(listed)")
        let ps = try fixture.skiff("ps", [], check: true).stdout
        #expect(ps.contains("[::1]:\(port)->80/tcp"), "\(ps)")
        let document = try fixture.skiff("inspect", [name], check: true).stdout
        let views = (try JSONSerialization.jsonObject(with: Data(document.utf8))) as? [[String: Any]]
        let ports = (views?.first?["NetworkSettings"] as? [String: Any])?["Ports"] as? [String: [[String: String]]]
        #expect(ports?["80/tcp"]?.compactMap { $0["HostIp"] } == ["::1", "::1", "127.0.0.1"], "\(document)")
        // The kernel-chosen IPv6 port works too.
        let random = listed.split(separator: "\n").compactMap { line -> UInt16? in
            guard line.hasPrefix("80/tcp -> [::1]:"), let value = UInt16(line.split(separator: ":").last ?? "") else { return nil }
            return value == port ? nil : value
        }
        #expect(random.count == 1)
        if let other = random.first { #expect(hostGet(port: other, path: "/i", ipv6: true) == "six\n") }

        let clash = try fixture.skiff("run", ["--rm", "-p", "[::1]:\(port):80", fixture.image, "true"])
        #expect(clash.status == 125 && clash.stderr.contains("[::1]:\(port)") && clash.stderr.contains("already in use"), "\(clash.stderr)")

        try fixture.skiff("rm", ["-f", name], check: true)
        #expect(hostGet(port: port, path: "/i", ipv6: true) == nil)
        #expect(netnsFiles(fixture).isEmpty)
    }

    /// `network create --ipv6` with an IPv4 and an IPv6 subnet: both addresses for each container
    /// (inspect and `ip` inside), ping over IPv6 both ways, AAAA from the embedded DNS, and the
    /// bridge gone after `network rm`. The bridge plugin turns the host's IPv6 forwarding on (as
    /// docker does); the test puts back what it found.
    @Test(.enabled(if: hostHasIPv6Loopback, "the host has IPv6 disabled"))
    func dualStackUserNetwork() throws {
        let forwardingPath = "/proc/sys/net/ipv6/conf/all/forwarding"
        let forwarding = try String(contentsOfFile: forwardingPath, encoding: .utf8)
        defer { try? forwarding.write(toFile: forwardingPath, atomically: false, encoding: .utf8) }
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let tag = UInt16.random(in: 0x100...0xfff)
        let network = "dual-\(String(tag, radix: 16))"
        let prefix = "fd00:\(String(tag, radix: 16)):5::"
        let refused = try fixture.network("create", ["--subnet", prefix + "/64", network])
        #expect(refused.status != 0 && refused.stderr.contains("needs --ipv6"), "\(refused.stderr)")
        try fixture.network("create", ["--ipv6", "--subnet", "10.221.\(tag % 250).0/24", "--subnet", prefix + "/64", network], check: true)
        let view = try fixture.network(
            "inspect", ["-f", "{{.EnableIPv6}} {{range .IPAM.Config}}{{.Subnet}} {{end}}", network], check: true)
        #expect(trimmed(view) == "true 10.221.\(tag % 250).0/24 \(prefix)/64", "\(view.stdout)")
        let bridge = try NetworkTests().bridge(fixture, network: network)

        var ids: [String] = []
        for name in ["a", "b"] {
            ids.append(
                trimmed(
                    try fixture.skiff(
                        "run", ["-d", "--name", network + name, "--network", network, fixture.image, "sleep", "300"], check: true)))
        }
        let format = "{{.NetworkSettings.GlobalIPv6Address}} {{.NetworkSettings.GlobalIPv6PrefixLen}} {{.NetworkSettings.IPv6Gateway}}"
        let settings = try ids.map {
            trimmed(try fixture.skiff("inspect", ["-f", format, $0], check: true)).split(separator: " ").map(String.init)
        }
        let addresses = settings.map { $0.first ?? "" }
        for fields in settings {
            #expect(fields.count == 3 && fields[0].hasPrefix(prefix) && fields[1] == "64" && fields[2] == prefix + "1", "\(fields)")
        }
        #expect(Set(addresses).count == 2)
        let endpoints = try fixture.skiff("inspect", ["-f", "{{json .NetworkSettings.Networks}}", ids[0]], check: true).stdout
        let endpoint = ((try JSONSerialization.jsonObject(with: Data(endpoints.utf8))) as? [String: [String: Any]])?[network]
        #expect(endpoint?["GlobalIPv6Address"] as? String == addresses[0], "\(endpoints)")
        let inside = try fixture.skiff("exec", [ids[0], "ip", "-6", "-o", "addr", "show", "eth0"]).stdout
        #expect(inside.contains("inet6 \(addresses[0])/64"), "\(inside)")
        #expect(try fixture.skiff("exec", [ids[0], "ip", "-4", "-o", "addr", "show", "eth0"]).stdout.contains("inet 10.221."))

        // ping over IPv6, both ways.
        for (from, to) in [(ids[0], addresses[1]), (ids[1], addresses[0])] {
            var reply = ""
            #expect(
                try eventually(15) {
                    reply = try fixture.skiff("exec", [from, "busybox", "ping", "-6", "-c", "1", "-W", "2", to]).stdout
                    return reply.contains("1 packets received")
                }, "\(reply)")
        }
        // The embedded DNS answers AAAA with the peer's IPv6 address (and A with its IPv4 one).
        let lookup = try fixture.skiff("exec", [ids[0], "busybox", "nslookup", "-type=AAAA", network + "b", "127.0.0.11"]).stdout
        #expect(lookup.contains(addresses[1]), "\(lookup)")

        try fixture.skiff("rm", ["-f"] + ids, check: true)
        try fixture.network("rm", [network], check: true)
        #expect(!FileManager.default.fileExists(atPath: "/sys/class/net/\(bridge)"))
        let rules = (try? run(["/usr/sbin/ip6tables-save"], check: false).stdout) ?? ""
        #expect(!rules.split(separator: "\n").contains { line in ids.contains { line.contains($0) } }, "\(rules)")
        #expect(netnsFiles(fixture).isEmpty)
    }
}

import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A resolver the test runs on a loopback address of the host (port 53, as --dns needs): every
/// A question is answered with `answer`, others with an empty NOERROR. Stopped by `stop()`.
final class LoopbackResolver: Sendable {
    let address: String
    let fd: Int32
    let stopped = Mutex(false)
    let asked = Mutex<[String]>([])
    let finished = Mutex(false)

    init(answer: [UInt8]) throws {
        let octets = (0..<3).map { _ in UInt8.random(in: 1...250) }
        address = "127.\(octets[0]).\(octets[1]).\(octets[2])"
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var bound = sockaddr_in()
        bound.sin_family = sa_family_t(AF_INET)
        bound.sin_port = UInt16(53).bigEndian
        bound.sin_addr.s_addr = (UInt32(127) << 24 | UInt32(octets[0]) << 16 | UInt32(octets[1]) << 8 | UInt32(octets[2])).bigEndian
        let rc = withUnsafePointer(to: &bound) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            close(fd)
            throw TestError("bind \(address):53 for the test's resolver failed (errno \(errno))")
        }
        self.fd = fd
        let started = Thread { [self] in
            defer { finished.withLock { $0 = true } }
            var buffer = [UInt8](repeating: 0, count: 1500)
            while !stopped.withLock({ $0 }) {
                var ready = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&ready, 1, 100) > 0 else { continue }
                var client = sockaddr_in()
                var length = socklen_t(MemoryLayout<sockaddr_in>.size)
                let count = buffer.withUnsafeMutableBytes { raw in
                    withUnsafeMutablePointer(to: &client) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, raw.baseAddress, raw.count, 0, $0, &length) }
                    }
                }
                guard count >= 12 else { continue }
                var query = Array(buffer[0..<count])
                // The question's end: labels up to the zero byte, then type and class.
                var end = 12
                var labels: [String] = []
                while end < query.count, query[end] != 0, query[end] < 64 {
                    let size = Int(query[end])
                    guard end + 1 + size <= query.count else { break }
                    labels.append(String(decoding: query[(end + 1)..<(end + 1 + size)], as: UTF8.self))
                    end += 1 + size
                }
                end += 5
                guard end <= query.count else { continue }
                asked.withLock { $0.append(labels.joined(separator: ".")) }
                let isA = query[end - 3] == 1 && query[end - 4] == 0
                query = Array(query[0..<end])
                query[2] = 0x81
                query[3] = 0x80
                query[6] = 0
                query[7] = isA ? 1 : 0
                query[8...11] = [0, 0, 0, 0]
                if isA { query += [0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4] + answer }
                _ = query.withUnsafeBytes { raw in
                    withUnsafePointer(to: &client) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, raw.baseAddress, raw.count, 0, $0, length) }
                    }
                }
            }
        }
        started.start()
    }

    func stop() {
        stopped.withLock { $0 = true }
        while !finished.withLock({ $0 }) { usleep(10_000) }
        close(fd)
    }
}

/// docker's embedded DNS on user networks (127.0.0.11, served by each container's monitor in its
/// namespace): peers by name, short ID and alias through DNS; other names forwarded to the
/// resolvers of the host (here --dns pointing at a resolver the test runs on the host's loopback,
/// reachable only from the host's namespace); a quick SERVFAIL when no resolver answers.
@Suite(.serialized, .enabled(if: networkTestsEnabled, networkSkipReason))
struct EmbeddedDNSIntegrationTests {
    @Test func peersResolveThroughDNSAndOtherNamesAreForwarded() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let suffix = UUID().uuidString.prefix(6).lowercased()
        let network = "edns-\(suffix)"
        try fixture.network("create", [network], check: true)
        let resolver = try LoopbackResolver(answer: [192, 0, 2, 55])
        defer { resolver.stop() }
        let peer = try fixture.skiff(
            "run",
            ["-d", "--name", "peer-\(suffix)", "--network", network, "--network-alias", "db-\(suffix)", fixture.image, "sleep", "60"],
            check: true
        ).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let inspected = try fixture.skiff("inspect", ["-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", peer], check: true)
        let peerAddress = inspected.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(peerAddress.hasPrefix("10."), "\(inspected.stdout) \(inspected.stderr)")

        // Through DNS only: /etc/hosts is emptied first, so nothing but 127.0.0.11 can answer.
        let script =
            "cat /etc/resolv.conf; : > /etc/hosts; for n in peer-\(suffix) db-\(suffix) \(peer.prefix(12)) outside.test; do "
            + "echo \"== $n\"; busybox nslookup $n; done"
        let started = Date()
        let run = try fixture.skiff("run", ["--rm", "--network", network, "--dns", resolver.address, fixture.image, "sh", "-c", script])
        let output = run.stdout + run.stderr
        #expect(run.status == 0, "\(output)")
        #expect(output.contains("nameserver 127.0.0.11\n"), "\(output)")
        #expect(!output.contains(resolver.address), "the container's resolv.conf names only the embedded DNS: \(output)")
        let sections = output.components(separatedBy: "== ").dropFirst()
        #expect(sections.count == 4, "\(output)")
        for section in sections.prefix(3) {
            #expect(section.contains("Address: \(peerAddress)") || section.contains("Address 1: \(peerAddress)"), "\(section)")
        }
        // A name outside the network: forwarded, from the host's namespace, to the loopback resolver.
        #expect(sections.last?.contains("192.0.2.55") == true, "\(output)")
        #expect(resolver.asked.withLock { $0 }.contains("outside.test"), "\(resolver.asked.withLock { $0 })")
        // Our names were never forwarded.
        #expect(!resolver.asked.withLock { $0 }.contains { $0.contains(suffix) }, "\(resolver.asked.withLock { $0 })")
        #expect(Date().timeIntervalSince(started) < 30)

        // No resolver answers (nothing listens on the --dns address): a clean, quick failure.
        let quiet = "127.\(UInt8.random(in: 1...250)).\(UInt8.random(in: 1...250)).\(UInt8.random(in: 1...250))"
        let failStart = Date()
        let failed = try fixture.skiff(
            "run", ["--rm", "--network", network, "--dns", quiet, fixture.image, "busybox", "nslookup", "nowhere.test"])
        let failedFor = Date().timeIntervalSince(failStart)
        #expect(failed.status != 0, "\(failed.stdout) \(failed.stderr)")
        #expect((failed.stdout + failed.stderr).contains("SERVFAIL"), "\(failed.stdout) \(failed.stderr)")
        #expect(failedFor < 10, "took \(failedFor) s")
        // ...while the peers still resolve through it.
        let still = try fixture.skiff(
            "run", ["--rm", "--network", network, "--dns", quiet, fixture.image, "busybox", "nslookup", "peer-\(suffix)"])
        #expect(still.status == 0 && still.stdout.contains(peerAddress), "\(still.stdout) \(still.stderr)")

        // The default bridge keeps the host's resolvers, as docker has it.
        let plain = try fixture.skiff("run", ["--rm", "--dns", resolver.address, fixture.image, "cat", "/etc/resolv.conf"], check: true)
        #expect(plain.stdout.contains("nameserver \(resolver.address)"), "\(plain.stdout)")
    }

    /// glibc's resolver (the host's getent and libraries, mounted read-only into the busybox
    /// image; no nsswitch.conf, so glibc's default asks DNS first) finds a peer through
    /// 127.0.0.11: its AAAA question gets an empty answer at once, its A question the address.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/getent"), "needs the host's getent"))
    func glibcGetentResolvesAPeer() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let suffix = UUID().uuidString.prefix(6).lowercased()
        let network = "edns-\(suffix)"
        try fixture.network("create", [network], check: true)
        let peer = try fixture.skiff(
            "run", ["-d", "--name", "peer-\(suffix)", "--network", network, fixture.image, "sleep", "60"], check: true
        ).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let address = try fixture.skiff("inspect", ["-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", peer], check: true)
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let libraries = "/usr/lib/x86_64-linux-gnu"
        guard FileManager.default.fileExists(atPath: libraries + "/libc.so.6") else { return }
        let started = Date()
        let result = try fixture.skiff(
            "run",
            [
                "--rm", "--network", network, "--dns", "127.0.0.1", "-v", "\(libraries):/lib/x86_64-linux-gnu:ro",
                "-v", "/usr/lib64:/lib64:ro", "-v", "/usr/bin/getent:/bin/getent:ro", fixture.image,
                "sh", "-c", ": > /etc/hosts; getent hosts peer-\(suffix) \(peer.prefix(12))",
            ])
        #expect(result.status == 0, "\(result.stdout) \(result.stderr)")
        #expect(result.stdout.hasPrefix("\(address) "), "\(result.stdout) \(result.stderr)")
        #expect(result.stdout.split(separator: "\n").count == 2, "\(result.stdout)")
        #expect(Date().timeIntervalSince(started) < 20)
    }
}

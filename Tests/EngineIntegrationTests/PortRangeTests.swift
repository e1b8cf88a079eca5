import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension NetworkTests {
    /// A socket bound to 127.0.0.1:port, or nil when the port is taken.
    func holdPort(_ port: UInt16) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 1) == 0 else {
            close(fd)
            return nil
        }
        return fd
    }

    /// The first of `count` consecutive ports that are free on 127.0.0.1 now.
    func consecutiveFreePorts(_ count: UInt16) throws -> UInt16 {
        for _ in 0..<50 {
            let first = freePort()
            guard first < 65535 - count else { continue }
            let held = (0..<count).map { holdPort(first + $0) }
            for fd in held.compactMap({ $0 }) { close(fd) }
            if held.allSatisfy({ $0 != nil }) { return first }
        }
        throw POSIXError(.EADDRINUSE)
    }

    @Test func publishedPortRangesReachEachServer() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let pair = try consecutiveFreePorts(2)
        let choice = try consecutiveFreePorts(2)
        // The first port of the second range is held by a host program: the container gets the next.
        let blocker = try #require(holdPort(choice))
        defer { close(blocker) }
        let script =
            "mkdir -p /tmp/a /tmp/b; echo a > /tmp/a/index.html; echo b > /tmp/b/index.html; httpd -p 80 -h /tmp/a; httpd -p 81 -h /tmp/b; sleep 600"
        let id = try fixture.skiff(
            "run",
            [
                "-d", "-p", "127.0.0.1:\(pair)-\(pair + 1):80-81", "-p", "127.0.0.1:\(choice)-\(choice + 1):80",
                fixture.image, "sh", "-c", script,
            ], check: true
        ).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(eventually(15) { hostGet(port: pair) == "a\n" })
        #expect(hostGet(port: pair + 1) == "b\n")
        #expect(hostGet(port: choice + 1) == "a\n")
        let ps = try fixture.skiff("ps", [], check: true).stdout
        #expect(
            ps.contains("127.0.0.1:\(pair)->80/tcp") && ps.contains("127.0.0.1:\(pair + 1)->81/tcp")
                && ps.contains("127.0.0.1:\(choice + 1)->80/tcp"), "\(ps)")
        try fixture.skiff("rm", ["-f", id], check: true)
        #expect(hostGet(port: pair) == nil)

        // A range whose every port is taken, and ranges of different sizes: clear errors, nothing made.
        let full = try fixture.skiff("run", ["--rm", "-p", "127.0.0.1:\(choice)-\(choice):80", fixture.image, "true"])
        #expect(full.status == 125 && full.stderr.contains("already in use"), "\(full.stderr)")
        let uneven = try fixture.skiff("run", ["--rm", "-p", "8000-8001:80-82", fixture.image, "true"])
        #expect(uneven.status == 125 && uneven.stderr.contains("same size"), "\(uneven.stderr)")
        #expect(fixture.containerIDs().isEmpty)
    }
}

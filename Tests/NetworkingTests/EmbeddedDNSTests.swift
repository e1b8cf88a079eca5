import Foundation
import Networking
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A socket of `type` bound to 127.0.0.1 on a port the kernel chooses, and that port.
private func loopbackSocket(_ type: Int32) throws -> (fd: Int32, port: UInt16) {
    let fd = socket(AF_INET, type | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(.EMFILE) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let rc = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
            guard bind(fd, pointer, length) == 0 else { return -1 }
            return getsockname(fd, pointer, &length)
        }
    }
    guard rc == 0 else {
        close(fd)
        throw POSIXError(.EADDRINUSE)
    }
    return (fd, UInt16(bigEndian: address.sin_port))
}

/// Sends `message` over UDP to 127.0.0.1:`port` and waits up to `seconds` for the reply.
private func ask(_ message: [UInt8], port: UInt16, seconds: Double = 5) throws -> [UInt8]? {
    let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    defer { close(fd) }
    return try ask(message, port: port, seconds: seconds, on: fd)
}

/// The same on a socket of the caller's: a `seconds` of 0 only sends.
private func ask(_ message: [UInt8], port: UInt16, seconds: Double, on fd: Int32) throws -> [UInt8]? {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    address.sin_port = port.bigEndian
    _ = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    _ = message.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
    if seconds == 0 { return nil }
    var pending = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    guard poll(&pending, 1, Int32(seconds * 1000)) > 0 else { return nil }
    var buffer = [UInt8](repeating: 0, count: 4096)
    let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
    return count > 0 ? Array(buffer[0..<count]) : nil
}

/// The embedded DNS served on loopback sockets of the test's own namespace: our names answered,
/// the rest forwarded to a resolver the test runs on 127.0.0.1, a clean SERVFAIL without one.
struct EmbeddedDNSTests {
    let names = DNSNames(peers: [HostFiles.Peer(address: "10.89.0.7", names: ["peer", "alias"])])

    func server(upstreams: [DNSUpstream], forwardTimeout: Double = 2) throws -> (server: EmbeddedDNS, port: UInt16) {
        let udp = try loopbackSocket(Int32(SOCK_DGRAM.rawValue))
        let tcp = try loopbackSocket(Int32(SOCK_STREAM.rawValue))
        _ = listen(tcp.fd, 4)
        // Both are on 127.0.0.1, ports chosen separately: the UDP one is asked.
        let names = self.names
        return (try EmbeddedDNS(udp: udp.fd, tcp: tcp.fd, upstreams: upstreams, forwardTimeout: forwardTimeout, names: { names }), udp.port)
    }

    @Test func answersOurNamesAndFailsCleanlyWithoutUpstream() throws {
        let (server, port) = try server(upstreams: [])
        defer {
            server.stop()
            server.stop()  // the monitor's error path may stop it again: nothing happens
        }
        let answered = try #require(try ask(dnsQuery("peer"), port: port))
        #expect(try dnsAnswers(answered).addresses == ["10.89.0.7"])
        #expect(try dnsAnswers(answered).flags & 0x0400 != 0)  // AA
        let started = Date()
        let failed = try #require(try ask(dnsQuery("example.org"), port: port))
        #expect(try dnsAnswers(failed).rcode == DNSMessage.serverFailure)
        #expect(Date().timeIntervalSince(started) < 1)
        // A response sent to it is not answered; garbage with a header gets FORMERR.
        #expect(try ask(dnsQuery("peer", flags: 0x8100), port: port, seconds: 0.3) == nil)
        let garbage = try #require(try ask([0, 7, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 0xFF], port: port))
        #expect(garbage[3] & 0xF == DNSMessage.formatError)
    }

    @Test func forwardsOtherNamesAndSkipsDeadUpstreams() throws {
        // A resolver on loopback: answers every A question with 192.0.2.44.
        let upstream = try loopbackSocket(Int32(SOCK_DGRAM.rawValue))
        let resolver = Thread {
            var buffer = [UInt8](repeating: 0, count: 512)
            var ready = pollfd(fd: upstream.fd, events: Int16(POLLIN), revents: 0)
            guard poll(&ready, 1, 10_000) > 0 else { return }
            var client = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let count = buffer.withUnsafeMutableBytes { raw in
                withUnsafeMutablePointer(to: &client) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        recvfrom(upstream.fd, raw.baseAddress, raw.count, 0, $0, &length)
                    }
                }
            }
            guard count > 0, let query = try? DNSMessage.parseQuery(Array(buffer[0..<count])) else { return }
            let reply = DNSMessage.reply(to: query, rcode: 0, answers: [.a([192, 0, 2, 44])], authoritative: false)
            _ = reply.withUnsafeBytes { raw in
                withUnsafePointer(to: &client) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(upstream.fd, raw.baseAddress, raw.count, 0, $0, length) }
                }
            }
        }
        resolver.start()
        defer { close(upstream.fd) }
        // The first upstream refuses (nothing listens there): skipped at once.
        let dead = try loopbackSocket(Int32(SOCK_DGRAM.rawValue))
        close(dead.fd)
        let loopback = IPv4Address("127.0.0.1")!
        let (server, port) = try server(upstreams: [
            DNSUpstream("::1", port: dead.port)!, DNSUpstream(address: loopback, port: dead.port),
            DNSUpstream(address: loopback, port: upstream.port),
        ])
        defer { server.stop() }
        let started = Date()
        let reply = try #require(try ask(dnsQuery("outside.example", id: 0x4242), port: port))
        #expect(Date().timeIntervalSince(started) < 1.5)
        #expect(reply[0] == 0x42 && reply[1] == 0x42)
        #expect(try dnsAnswers(reply).addresses == ["192.0.2.44"])
    }

    /// A silent upstream holds only its own question: our names answer at once meanwhile, and
    /// the waiting question gets SERVFAIL at the forward's timeout.
    @Test func aSilentUpstreamHoldsUpNothingElse() throws {
        let silent = try loopbackSocket(Int32(SOCK_DGRAM.rawValue))
        defer { close(silent.fd) }
        let (server, port) = try server(
            upstreams: [DNSUpstream(address: IPv4Address("127.0.0.1")!, port: silent.port)], forwardTimeout: 0.5)
        defer { server.stop() }
        let waiting = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { close(waiting) }
        let started = Date()
        _ = try ask(dnsQuery("slow.example"), port: port, seconds: 0, on: waiting)
        let answered = try #require(try ask(dnsQuery("alias"), port: port))
        #expect(Date().timeIntervalSince(started) < 0.4)
        #expect(try dnsAnswers(answered).addresses == ["10.89.0.7"])
        let failed = try #require(try ask([], port: port, seconds: 5, on: waiting))
        #expect(try dnsAnswers(failed).rcode == DNSMessage.serverFailure)
        #expect(Date().timeIntervalSince(started) >= 0.45)
    }
}

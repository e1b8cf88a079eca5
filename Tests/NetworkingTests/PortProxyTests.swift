import Foundation
import Networking
import Testing

/// The monitor's relay for IPv6 host addresses (`-p [::1]:H:C`), on loopback sockets the test
/// makes: bytes both ways with half-closes, a client that never reads holding up nobody else,
/// a container port with nothing listening closing the client.
@Suite(.enabled(if: FileManager.default.fileExists(atPath: "/proc/net/if_inet6"), "the host has IPv6 disabled"))
struct PortProxyTests {
    /// A listening socket on [::1] with a kernel-chosen port.
    func listener6() throws -> (fd: Int32, port: UInt16) {
        let fd = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
        var address = IPv6Address("::1")!.socketAddress(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard fd >= 0, bound, listen(fd, 16) == 0 else { throw POSIXError(.EADDRNOTAVAIL) }
        return (fd, UInt16(bigEndian: address.sin6_port))
    }

    /// A listening socket on 127.0.0.1 (the "container"), kernel-chosen port.
    func listener4() throws -> (fd: Int32, port: UInt16) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard fd >= 0, bound, listen(fd, 16) == 0 else { throw POSIXError(.EADDRNOTAVAIL) }
        return (fd, UInt16(bigEndian: address.sin_port))
    }

    func connect6(_ port: UInt16) -> Int32 {
        let fd = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = IPv6Address("::1")!.socketAddress(port: port)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
        }
        if rc != 0 {
            close(fd)
            return -1
        }
        return fd
    }

    func readAll(_ fd: Int32) -> [UInt8] {
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { return result }
            result += buffer[0..<n]
        }
    }

    func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            offset += n
        }
    }

    @Test func relaysBothWaysWithHalfCloses() throws {
        let front = try listener6()
        let back = try listener4()
        defer {
            close(front.fd)
            close(back.fd)
        }
        // The "container": reads to the end, then answers with what it got, reversed, and closes.
        let server = Thread { [self] in
            let connection = accept(back.fd, nil, nil)
            let received = readAll(connection)
            writeAll(connection, received.reversed())
            close(connection)
        }
        server.start()
        let proxy = try PortProxy(routes: [.init(listener: front.fd, target: IPv4Address("127.0.0.1")!, port: back.port)])
        defer { proxy.stop() }
        let client = connect6(front.port)
        #expect(client >= 0)
        defer { close(client) }
        let message = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        writeAll(client, message)
        shutdown(client, Int32(SHUT_WR))
        #expect(readAll(client) == message.reversed())
    }

    @Test func aClientThatNeverReadsHoldsUpNobody() throws {
        let front = try listener6()
        let back = try listener4()
        defer {
            close(front.fd)
            close(back.fd)
        }
        // Every connection gets 8 MiB, far more than the relay holds for one client.
        let server = Thread { [self] in
            for _ in 0..<2 {
                let connection = accept(back.fd, nil, nil)
                Thread {
                    writeAll(connection, [UInt8](repeating: 0x61, count: 8 << 20))
                    close(connection)
                }.start()
            }
        }
        server.start()
        let proxy = try PortProxy(routes: [.init(listener: front.fd, target: IPv4Address("127.0.0.1")!, port: back.port)])
        defer { proxy.stop() }
        let stalled = connect6(front.port)
        defer { close(stalled) }
        let reader = connect6(front.port)
        defer { close(reader) }
        #expect(stalled >= 0 && reader >= 0)
        #expect(readAll(reader).count == 8 << 20)
    }

    @Test func nothingListeningInTheContainerClosesTheClient() throws {
        let front = try listener6()
        let back = try listener4()
        close(back.fd)  // its port now refuses
        defer { close(front.fd) }
        let proxy = try PortProxy(routes: [.init(listener: front.fd, target: IPv4Address("127.0.0.1")!, port: back.port)])
        defer { proxy.stop() }
        let client = connect6(front.port)
        defer { close(client) }
        let started = Date()
        #expect(readAll(client).isEmpty)
        #expect(Date().timeIntervalSince(started) < 5)
    }
}

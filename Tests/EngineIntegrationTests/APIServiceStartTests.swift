import Foundation
import Testing

/// The API's socket appears only once the service listens: scripts start the service and connect
/// as soon as the socket exists (`until [ -S sock ]; do sleep 0.1; done; docker ps`), and a
/// socket bound but not yet listening refused them ("Cannot connect to the Docker daemon").
@Suite(.serialized, .enabled(if: engineTestsEnabled, skipReason))
struct APIServiceStartTests {
    /// connect(2) to a Unix socket path: 0 on success, else errno.
    static func connectOnce(_ path: String) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return errno }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.prefix(raw.count - 1).enumerated() { raw[index] = byte }
        }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        return rc == 0 ? 0 : errno
    }

    @Test func theSocketAcceptsAsSoonAsItExists() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let socket = fixture.path + "/race.sock"
        for round in 0..<10 {
            let process = try APIService.start(fixture, host: "unix://" + socket, time: "0")
            defer {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
            var seen = false
            let deadline = Date().addingTimeInterval(20)
            while Date() < deadline {
                var st = stat()
                if lstat(socket, &st) == 0 {
                    seen = true
                    break
                }
                usleep(200)
            }
            #expect(seen, "round \(round): no socket")
            let result = Self.connectOnce(socket)
            #expect(result == 0, "round \(round): the socket existed but refused the connection: \(String(cString: strerror(result)))")
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            unlink(socket)
        }
    }

    @Test func aFileThatIsNoSocketIsNotReplaced() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let path = fixture.path + "/notes.txt"
        try "keep me".write(toFile: path, atomically: true, encoding: .utf8)
        let result = try run(
            [skiffBinary, "system", "service", "--root", fixture.root, "--runtime-root", fixture.runtimeRoot, "--host", "unix://" + path],
            check: false)
        #expect(result.status != 0)
        #expect(result.stderr.contains("exists and is not a socket"), "\(result.stderr)")
        #expect((try? String(contentsOfFile: path, encoding: .utf8)) == "keep me")
    }
}

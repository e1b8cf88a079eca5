import Foundation
import Synchronization
import Testing
@testable import HTTPClient

/// The client against a real server on 127.0.0.1: connections reused, chunked bodies in both
/// directions, uploads from files, redirects, timeouts, cancellation, and proxies (plain and
/// CONNECT with TLS verified by DNS name through SNI).
@Suite(.serialized, .enabled(if: LiveServer.available, "needs /usr/bin/python3 and /usr/bin/openssl"))
struct LiveServerTests {
    func client(idleTimeout: Double = 10, trustRoot: String? = nil, proxy: ProxyConfiguration = .none) -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.idleTimeout = idleTimeout
        configuration.connectTimeout = 5
        configuration.proxy = proxy
        if let trustRoot { configuration.trust = TrustConfiguration(certificateDirectoryRoots: [trustRoot]) }
        return HTTPClient(configuration: configuration)
    }

    func get(_ client: HTTPClient, _ url: String) async throws -> HTTPResult {
        try await client.send(HTTPRequest(url: try #require(URL(string: url))))
    }

    @Test func reusesKeptAliveConnections() async throws {
        let server = try LiveServer()
        defer { server.stop() }
        let client = client()
        var ports: Set<String> = []
        for _ in 0..<5 {
            let result = try await get(client, "http://127.0.0.1:\(server.plainPort)/conn")
            #expect(result.status == 200)
            ports.insert(String(decoding: result.body, as: UTF8.self))
        }
        #expect(ports.count == 1, "five sequential requests on one connection: \(ports)")
        // A server that closes after answering: the next request opens a new connection.
        _ = try await get(client, "http://127.0.0.1:\(server.plainPort)/close")
        let after = try await get(client, "http://127.0.0.1:\(server.plainPort)/conn")
        #expect(after.status == 200)
        // Parallel requests each get their own connection.
        let parallel = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<4 {
                group.addTask { String(decoding: try await get(client, "http://127.0.0.1:\(server.plainPort)/conn").body, as: UTF8.self) }
            }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(parallel.count >= 2)
    }

    @Test func chunkedBodiesBothWaysAndFileUploads() async throws {
        let server = try LiveServer()
        defer { server.stop() }
        let client = client()
        let expected = (0..<(1 << 20)).map { UInt8($0 % 251) }
        var received: [UInt8] = []
        let result = try await client.send(
            HTTPRequest(url: try #require(URL(string: "http://127.0.0.1:\(server.plainPort)/chunked"))),
            sink: { received.append(contentsOf: $0) })
        #expect(result.status == 200 && result.body.isEmpty)
        #expect(received == expected)

        let remaining = Mutex<[[UInt8]]>([Array("hello ".utf8), [], Array(repeating: 7, count: 100_000), Array("end".utf8)])
        let streamed = try await client.send(
            HTTPRequest(
                method: "POST", url: try #require(URL(string: "http://127.0.0.1:\(server.plainPort)/echo")),
                body: .stream { remaining.withLock { $0.isEmpty ? nil : $0.removeFirst() } }))
        let all = Array("hello ".utf8) + Array(repeating: 7, count: 100_000) + Array("end".utf8)
        #expect(String(decoding: streamed.body, as: UTF8.self) == "\(sha256Hex(all)) \(all.count) chunked")

        let file = server.directory + "/upload.bin"
        _ = FileManager.default.createFile(atPath: file, contents: Data(expected))
        let uploaded = try await client.send(
            HTTPRequest(
                method: "PUT", url: try #require(URL(string: "http://127.0.0.1:\(server.plainPort)/put")),
                body: .file(path: file)))
        #expect(String(decoding: uploaded.body, as: UTF8.self) == "\(sha256Hex(expected)) \(expected.count) length")
    }

    @Test func followsRedirectsAndBuffersErrorsWithALimit() async throws {
        let server = try LiveServer()
        defer { server.stop() }
        let client = client()
        let redirected = try await get(client, "http://127.0.0.1:\(server.plainPort)/redirect")
        #expect(redirected.status == 200 && redirected.url.path == "/conn")
        await #expect(throws: HTTPClientError.tooManyRedirects(limit: 10)) {
            try await get(client, "http://127.0.0.1:\(server.plainPort)/loop")
        }
        let missing = try await get(client, "http://127.0.0.1:\(server.plainPort)/nothing")
        #expect(missing.status == 404 && missing.body == Array("no".utf8))
        await #expect(throws: HTTPClientError.bodyTooLarge(limit: 1000)) {
            try await client.send(
                HTTPRequest(url: try #require(URL(string: "http://127.0.0.1:\(server.plainPort)/chunked"))), bufferLimit: 1000)
        }
    }

    @Test func idleTimeoutAndCancellation() async throws {
        let server = try LiveServer()
        defer { server.stop() }
        let start = Date()
        await #expect(throws: HTTPClientError.timedOut(seconds: 0.5)) {
            try await get(client(idleTimeout: 0.5), "http://127.0.0.1:\(server.plainPort)/hang")
        }
        #expect(Date().timeIntervalSince(start) < 10)
        let slow = client(idleTimeout: 300)
        let task = Task { try await get(slow, "http://127.0.0.1:\(server.plainPort)/hang") }
        try await Task.sleep(nanoseconds: 300_000_000)
        let cancelled = Date()
        task.cancel()
        await #expect(throws: HTTPClientError.cancelled) { try await task.value }
        // Far under the 300 s idle timeout, so only the cancellation can have ended it. The bound
        // is loose on purpose: in the full suite this 2-core machine's cooperative pool is shared
        // with hundreds of tests, and the cancellation handler waited 11.6 s for a thread once
        // (2.3 s another time), with a 20 s timeout and a 10 s bound then.
        #expect(Date().timeIntervalSince(cancelled) < 120)
        let refused = try LiveServer.freePort()
        await #expect(throws: HTTPClientError.connectionRefused(host: "127.0.0.1", port: refused)) {
            try await get(client(), "http://127.0.0.1:\(refused)/")
        }
    }

    @Test func lowSpeedLimitEndsADrippingTransfer() async throws {
        let server = try LiveServer()
        defer { server.stop() }
        var configuration = HTTPClient.Configuration()
        configuration.idleTimeout = 10
        configuration.proxy = .none
        configuration.lowSpeedLimit = 1024
        configuration.lowSpeedTime = 2
        let client = HTTPClient(configuration: configuration)
        let start = Date()
        await #expect {
            try await client.send(HTTPRequest(url: try #require(URL(string: "http://127.0.0.1:\(server.plainPort)/drip"))), sink: { _ in })
        } throws: { error in
            guard case HTTPClientError.tooSlow(let rate, let limit, let seconds) = error else { return false }
            // The window holds the heads (~100 bytes) and a byte a second.
            return rate < 200 && limit == 1024 && seconds == 2
        }
        // The idle timeout (10 s) never trips on a byte a second and the drip lasts 10 minutes: the
        // error above says the low-speed limit ended it. The bound only catches a watchdog that
        // waits for the whole body; it is loose because the full suite loads this 2-core machine
        // (13.9 s was seen there for the 2 s window).
        #expect(Date().timeIntervalSince(start) < 120, "the low-speed limit must end the transfer long before the drip does")
        // An honest slow link (8 KiB/s) passes the same limit until the deadline ends it.
        let deadlineStart = Date()
        var received = 0
        await #expect(throws: HTTPClientError.deadlineExceeded(seconds: 3)) {
            try await client.send(
                HTTPRequest(url: try #require(URL(string: "http://127.0.0.1:\(server.plainPort)/steady"))),
                sink: { received += $0.count }, deadline: 3)
        }
        let elapsed = Date().timeIntervalSince(deadlineStart)
        // The thrown deadlineExceeded says the deadline ended it; the bound only catches a deadline
        // that waits for the body (17 minutes at 8 KiB/s). Loose: in the full suite the cooperative
        // pool of this 2-core machine is shared with hundreds of tests, and the deadline's task
        // once waited 71.7 s for a thread (against a 60 s bound then).
        #expect(elapsed >= 2.9 && elapsed < 600, "the deadline, not the body (minutes long), ended it: \(elapsed)")
        #expect(received > 8 << 10, "bytes kept arriving: \(received)")
        // Neither limit touches a quick request.
        let quick = try await client.send(
            HTTPRequest(url: try #require(URL(string: "http://127.0.0.1:\(server.plainPort)/conn"))), deadline: 3)
        #expect(quick.status == 200)
    }

    @Test func lowSpeedMeterMeasuresTheLastWindow() {
        var meter = LowSpeedMeter(limit: 100, window: 10, start: 0)
        // 200 B/s for 20 s: fine.
        for second in 1...20 { #expect(meter.sample(at: Double(second), bytes: Int64(second * 200)) == nil) }
        // Then nothing: the window still holds enough bytes for a while, then falls short.
        var failedAt: Int?
        for second in 21...40 where failedAt == nil {
            if meter.sample(at: Double(second), bytes: 4000) != nil { failedAt = second }
        }
        // The last 10 s hold 200 * (30 - t) bytes; below 1000 (100 B/s) once t > 25.
        #expect(failedAt == 26)
        #expect(LowSpeedMeter.tick(window: 30) == 1 && LowSpeedMeter.tick(window: 1) == 0.1 && LowSpeedMeter.tick(window: 3000) == 100)
        #expect(TransferWatchdog.usable(0) == nil && TransferWatchdog.usable(-1) == nil && TransferWatchdog.usable(.nan) == nil)
        #expect(TransferWatchdog.usable(.infinity) == nil && TransferWatchdog.usable(1e300) == 365 * 86400)
        #expect(
            formatRate(0.4) == "0.4 B/s" && formatRate(1) == "1 B/s" && formatRate(1536) == "1.5 KiB/s"
                && formatRate(Double(3 << 20)) == "3 MiB/s")
    }

    @Test func tlsWithSNIThroughAConnectProxyAndPlainThroughAForwardingProxy() async throws {
        let server = try LiveServer()
        defer { server.stop() }
        let proxyURL = try #require(URL(string: "http://user:pw@127.0.0.1:\(server.proxyPort)"))
        let proxy = ProxyConfiguration(httpProxy: proxyURL, httpsProxy: proxyURL)
        // registry.test is never resolved: the proxy carries the connection to the test server.
        let trusted = client(trustRoot: try server.certsD(for: "registry.test:\(server.tlsPort)"), proxy: proxy)
        let secure = try await get(trusted, "https://registry.test:\(server.tlsPort)/host")
        #expect(secure.status == 200 && String(decoding: secure.body, as: UTF8.self) == "registry.test:\(server.tlsPort)")
        let again = try await get(trusted, "https://registry.test:\(server.tlsPort)/conn")
        #expect(again.status == 200)
        let plain = try await get(trusted, "http://registry.test:\(server.plainPort)/host")
        #expect(String(decoding: plain.body, as: UTF8.self) == "registry.test:\(server.plainPort)")
        let log = server.proxyLog
        let credentials = "Basic " + Data("user:pw".utf8).base64EncodedString()
        #expect(log.contains("CONNECT registry.test:\(server.tlsPort) \(credentials)"), "\(log)")
        #expect(log.contains("GET http://registry.test:\(server.plainPort)/host \(credentials)"), "\(log)")
        #expect(log.filter { $0.hasPrefix("CONNECT") }.count == 1, "the tunnel is kept alive: \(log)")

        // Without the certs.d entry the same server is refused; loopback never goes through the proxy.
        await #expect { try await get(client(proxy: proxy), "https://registry.test:\(server.tlsPort)/host") } throws: { error in
            guard case HTTPClientError.certificateUntrusted(let host, let detail) = error else { return false }
            return host == "registry.test:\(server.tlsPort)" && detail.contains("self-signed")
        }
        let direct = try await get(
            client(trustRoot: try server.certsD(for: "127.0.0.1:\(server.tlsPort)"), proxy: proxy),
            "https://127.0.0.1:\(server.tlsPort)/conn")
        #expect(direct.status == 200)
        #expect(!server.proxyLog.contains { $0.contains("127.0.0.1") })
    }

    @Test func trustsAHashedSystemStoreDirectory() async throws {
        // The same lookup as /etc/ssl/certs (OpenSSL's hashed names), in a directory of our own.
        let server = try LiveServer()
        defer { server.stop() }
        let store = server.directory + "/system-certs"
        try FileManager.default.createDirectory(atPath: store, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: server.directory + "/server.crt", toPath: store + "/test-ca.pem")
        try LiveServer.run(["/usr/bin/openssl", "rehash", store])
        var configuration = HTTPClient.Configuration()
        configuration.proxy = .none
        configuration.trust = TrustConfiguration(systemDirectory: store, certificateDirectoryRoots: [])
        let result = try await get(HTTPClient(configuration: configuration), "https://127.0.0.1:\(server.tlsPort)/conn")
        #expect(result.status == 200)
        configuration.trust = TrustConfiguration(systemDirectory: "/etc/ssl/certs", certificateDirectoryRoots: [])
        await #expect(throws: HTTPClientError.self) {
            try await get(HTTPClient(configuration: configuration), "https://127.0.0.1:\(server.tlsPort)/conn")
        }
    }
}

func sha256Hex(_ bytes: [UInt8]) -> String {
    let file = "/tmp/skiff-http-sha-\(UUID().uuidString.prefix(8))"
    _ = FileManager.default.createFile(atPath: file, contents: Data(bytes))
    defer { try? FileManager.default.removeItem(atPath: file) }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
    process.arguments = [file]
    let pipe = Pipe()
    process.standardOutput = pipe
    try? process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(String(decoding: output, as: UTF8.self).prefix(64))
}

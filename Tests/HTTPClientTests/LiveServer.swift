import Foundation
@testable import HTTPClient

/// A Python HTTP/1.1 server on 127.0.0.1 (plain, and TLS with a certificate made here with
/// openssl) plus a forwarding proxy that sends every request, whatever host it names, to that
/// server: enough to watch keep-alive, chunked bodies both ways, timeouts, CONNECT and SNI.
final class LiveServer: @unchecked Sendable {
    static let script = #"""
        import hashlib, os, socket, ssl, sys, threading, time
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        plain_port, tls_port, proxy_port, directory = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
        pattern = bytes(i % 251 for i in range(1 << 20))

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def log_message(self, *args):
                pass
            def send_body(self, status, body, extra=None):
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                for key, value in (extra or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)
            def read_body(self):
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    data = b""
                    while True:
                        size = int(self.rfile.readline().split(b";")[0], 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return data
                        data += self.rfile.read(size)
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length", "0")))
            def do_GET(self):
                if self.path == "/conn":
                    return self.send_body(200, str(self.client_address[1]).encode())
                if self.path == "/host":
                    return self.send_body(200, (self.headers.get("Host") or "").encode())
                if self.path == "/chunked":
                    self.send_response(200)
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    offset, size = 0, 1
                    while offset < len(pattern):
                        piece = pattern[offset:offset + size]
                        self.wfile.write(b"%x;ext=1\r\n" % len(piece) + piece + b"\r\n")
                        offset += len(piece)
                        size = size * 3 + 7
                    self.wfile.write(b"0\r\nX-Trailer: yes\r\n\r\n")
                    return
                if self.path == "/redirect":
                    return self.send_body(302, b"moved", {"Location": "/conn"})
                if self.path == "/loop":
                    return self.send_body(307, b"", {"Location": "http://127.0.0.1:%d/loop" % plain_port})
                if self.path == "/close":
                    self.close_connection = True
                    return self.send_body(200, b"bye", {"Connection": "close"})
                if self.path == "/hang":
                    time.sleep(30)
                    return
                if self.path in ("/drip", "/steady"):
                    # /drip: one byte a second, never idle for long; /steady: 8 KiB a second, an honest
                    # slow link. Either would take minutes to finish.
                    size, piece = (600, 1) if self.path == "/drip" else (8 << 20, 2 << 10)
                    self.send_response(200)
                    self.send_header("Content-Length", str(size))
                    self.end_headers()
                    try:
                        for _ in range(size // piece):
                            self.wfile.write(b"x" * piece)
                            self.wfile.flush()
                            time.sleep(1.0 if piece == 1 else 0.25)
                    except OSError:
                        pass
                    return
                return self.send_body(404, b"no")
            def do_POST(self):
                body = self.read_body()
                return self.send_body(200, hashlib.sha256(body).hexdigest().encode() + b" %d %s" % (len(body), (self.headers.get("Transfer-Encoding") or "length").encode()))
            do_PUT = do_POST

        class Proxy(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def log_message(self, *args):
                pass
            def note(self, line):
                with open(directory + "/proxy.log", "a") as log:
                    log.write(line + "\n")
            def do_CONNECT(self):
                self.note("CONNECT " + self.path + " " + (self.headers.get("Proxy-Authorization") or "-"))
                upstream = socket.create_connection(("127.0.0.1", tls_port))
                self.send_response(200, "Connection established")
                self.end_headers()
                self.wfile.flush()
                def pump(a, b):
                    try:
                        while True:
                            data = a.recv(65536)
                            if not data:
                                break
                            b.sendall(data)
                    except OSError:
                        pass
                    try:
                        b.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                t = threading.Thread(target=pump, args=(upstream, self.connection), daemon=True)
                t.start()
                pump(self.connection, upstream)
                t.join()
                self.close_connection = True
            def do_GET(self):
                self.note("GET " + self.path + " " + (self.headers.get("Proxy-Authorization") or "-"))
                path = self.path.split("/", 3)[3] if self.path.startswith("http://") else self.path
                upstream = socket.create_connection(("127.0.0.1", plain_port))
                upstream.sendall(("GET /%s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (path, self.headers.get("Host"))).encode())
                data = b""
                while True:
                    chunk = upstream.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                self.wfile.write(data.replace(b"HTTP/1.0", b"HTTP/1.1"))
                self.close_connection = True

        plain = ThreadingHTTPServer(("127.0.0.1", plain_port), Handler)
        secure = ThreadingHTTPServer(("127.0.0.1", tls_port), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(directory + "/server.crt", directory + "/server.key")
        secure.socket = context.wrap_socket(secure.socket, server_side=True)
        proxy = ThreadingHTTPServer(("127.0.0.1", proxy_port), Proxy)
        for server in (secure, proxy):
            threading.Thread(target=server.serve_forever, daemon=True).start()
        plain.serve_forever()
        """#

    let directory: String
    let plainPort: Int, tlsPort: Int, proxyPort: Int
    let process: Process

    static var available: Bool {
        FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") && FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl")
    }

    init() throws {
        directory = "/tmp/skiff-http-test-\(UUID().uuidString.prefix(13))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Self.run([
            "/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-keyout", directory + "/server.key", "-out", directory + "/server.crt", "-subj", "/CN=registry.test",
            "-addext", "subjectAltName=DNS:registry.test,IP:127.0.0.1", "-addext", "basicConstraints=critical,CA:TRUE",
        ])
        try Self.script.write(toFile: directory + "/server.py", atomically: true, encoding: .utf8)
        plainPort = try Self.freePort()
        tlsPort = try Self.freePort()
        proxyPort = try Self.freePort()
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [directory + "/server.py", "\(plainPort)", "\(tlsPort)", "\(proxyPort)", directory]
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        for _ in 0..<100 {
            if Self.connects(plainPort) && Self.connects(tlsPort) && Self.connects(proxyPort) { return }
            usleep(50_000)
        }
        stop()
        throw HTTPClientError.connectionRefused(host: "127.0.0.1", port: plainPort)
    }

    /// A certs.d root trusting the server's certificate for `authority` (host:port).
    func certsD(for authority: String) throws -> String {
        let root = directory + "/certs.d"
        try FileManager.default.createDirectory(atPath: root + "/" + authority, withIntermediateDirectories: true)
        let target = root + "/" + authority + "/ca.crt"
        if !FileManager.default.fileExists(atPath: target) {
            try FileManager.default.copyItem(atPath: directory + "/server.crt", toPath: target)
        }
        return root
    }

    var proxyLog: [String] {
        ((try? String(contentsOfFile: directory + "/proxy.log", encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    deinit { stop() }

    static func run(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw HTTPClientError.ioFailed(operation: arguments[0], detail: "exit \(process.terminationStatus)")
        }
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw HTTPClientError.ioFailed(operation: "bind", detail: "no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func connects(_ port: Int) -> Bool {
        (try? TCPStream.connect(host: "127.0.0.1", port: port, connectTimeout: 1, idleTimeout: 1)) != nil
    }
}

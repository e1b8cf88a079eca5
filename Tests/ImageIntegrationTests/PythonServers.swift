import Foundation

/// Small HTTP servers the tests run on 127.0.0.1, written in Python (stdlib only; openssl CLI
/// for signing) so they are easy to read next to the tests that use them.
enum PythonServers {
    /// A bearer-token server for docker-registry's `auth.token`: checks basic credentials,
    /// grants the requested scopes in an RS256 JWT whose `kid` is the libtrust ID of the key,
    /// and counts the tokens it issued in `<dir>/issued`.
    static let tokenServer = #"""
        import base64, hashlib, json, subprocess, sys, time, uuid
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from urllib.parse import urlparse, parse_qs

        port, directory, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
        der = subprocess.run(["openssl", "pkey", "-in", directory + "/key.pem", "-pubout", "-outform", "DER"], check=True, capture_output=True).stdout
        raw = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode()
        kid = ":".join(raw[i:i + 4] for i in range(0, len(raw), 4))

        def b64(data):
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

        def sign(claims):
            header = b64(json.dumps({"typ": "JWT", "alg": "RS256", "kid": kid}).encode())
            body = b64(json.dumps(claims).encode())
            signing_input = (header + "." + body).encode()
            signature = subprocess.run(["openssl", "dgst", "-sha256", "-sign", directory + "/key.pem"], input=signing_input, check=True, capture_output=True).stdout
            return header + "." + body + "." + b64(signature)

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass
            def do_GET(self):
                expected = "Basic " + base64.b64encode((user + ":" + password).encode()).decode()
                if self.headers.get("Authorization") != expected:
                    self.send_response(401)
                    self.end_headers()
                    return
                query = parse_qs(urlparse(self.path).query)
                access = []
                for scope in query.get("scope", []):
                    kind, name, actions = scope.split(":", 2) if scope.count(":") >= 2 else (None, None, None)
                    if kind:
                        access.append({"type": kind, "name": name, "actions": actions.split(",")})
                now = int(time.time())
                claims = {"iss": "skiff-test-issuer", "sub": user, "aud": query.get("service", [""])[0],
                          "exp": now + 300, "nbf": now - 10, "iat": now, "jti": str(uuid.uuid4()), "access": access}
                token = sign(claims)
                with open(directory + "/issued", "a") as log:
                    log.write(" ".join(query.get("scope", [])) + "\n")
                body = json.dumps({"token": token, "access_token": token, "expires_in": 300}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
        """#

    /// A registry that misbehaves on purpose, by repository name. An optional second argument
    /// is the gate file the "gated" repository waits for.
    static let misbehavingRegistry = #"""
        import json, os, sys, time
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        port = int(sys.argv[1])
        gate = sys.argv[2] if len(sys.argv) > 2 else None
        zero = "sha256:" + "0" * 64

        # A real image whose layer blob the "slow" repository sends only half of before stalling.
        import gzip, hashlib, io, os, tarfile
        plain = io.BytesIO()
        with tarfile.open(fileobj=plain, mode="w", format=tarfile.PAX_FORMAT) as tar:
            data = os.urandom(4 << 20)
            info = tarfile.TarInfo("big.bin")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        plain_bytes = plain.getvalue()
        layer = gzip.compress(plain_bytes, compresslevel=1)
        config = json.dumps({"architecture": "amd64", "os": "linux",
                             "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(plain_bytes).hexdigest()]}}).encode()
        slow_manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + hashlib.sha256(config).hexdigest(), "size": len(config)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "sha256:" + hashlib.sha256(layer).hexdigest(), "size": len(layer)}]}).encode()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def log_message(self, *args):
                pass
            def reply(self, status, body, content_type="application/json", headers=None):
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)
            def do_HEAD(self):
                self.do_GET()
            def do_GET(self):
                path = self.path
                if path == "/v2/":
                    return self.reply(200, {})
                if path.startswith("/v2/slow/") and "/manifests/" in path:
                    return self.reply(200, slow_manifest, "application/vnd.oci.image.manifest.v1+json")
                if path.startswith("/v2/slow/") and path.endswith(hashlib.sha256(config).hexdigest()):
                    return self.reply(200, config, "application/octet-stream")
                if path.startswith("/v2/slow/") and "/blobs/" in path:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/octet-stream")
                    self.send_header("Content-Length", str(len(layer)))
                    self.end_headers()
                    self.wfile.write(layer[: len(layer) // 2])
                    self.wfile.flush()
                    time.sleep(60)
                    return
                if path.startswith("/v2/drip/") or path.startswith("/v2/gated/"):
                    # drip: the layer comes one byte a second, never idle long enough for --timeout.
                    # gated: half the layer, then nothing until the gate file exists, then the rest.
                    if "/manifests/" in path:
                        return self.reply(200, slow_manifest, "application/vnd.oci.image.manifest.v1+json")
                    if path.endswith(hashlib.sha256(config).hexdigest()):
                        return self.reply(200, config, "application/octet-stream")
                    self.send_response(200)
                    self.send_header("Content-Type", "application/octet-stream")
                    self.send_header("Content-Length", str(len(layer)))
                    self.end_headers()
                    try:
                        if path.startswith("/v2/drip/"):
                            for i in range(300):
                                self.wfile.write(layer[i:i + 1])
                                self.wfile.flush()
                                time.sleep(1)
                            return
                        self.wfile.write(layer[: len(layer) // 2])
                        self.wfile.flush()
                        deadline = time.time() + 120
                        while gate and not os.path.exists(gate) and time.time() < deadline:
                            time.sleep(0.05)
                        self.wfile.write(layer[len(layer) // 2 :])
                        self.wfile.flush()
                    except OSError:
                        pass
                    return
                if path.startswith("/v2/dripmanifest/") and "/manifests/" in path:
                    # A manifest at an honest 16 KiB/s that would take minutes: only a deadline ends it.
                    self.send_response(200)
                    self.send_header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
                    self.send_header("Content-Length", str(3 << 20))
                    self.end_headers()
                    try:
                        for _ in range((3 << 20) // 4096):
                            self.wfile.write(b" " * 4096)
                            self.wfile.flush()
                            time.sleep(0.25)
                    except OSError:
                        pass
                    return
                if path.startswith("/v2/flaky/"):
                    # The layer's first transfer is cut off half way; ranged requests get the rest.
                    if "/manifests/" in path:
                        return self.reply(200, slow_manifest, "application/vnd.oci.image.manifest.v1+json")
                    if path.endswith(hashlib.sha256(config).hexdigest()):
                        return self.reply(200, config, "application/octet-stream")
                    requested = self.headers.get("Range")
                    print("RANGE", requested, flush=True)
                    if requested is None:
                        self.send_response(200)
                        self.send_header("Content-Type", "application/octet-stream")
                        self.send_header("Content-Length", str(len(layer)))
                        self.end_headers()
                        self.wfile.write(layer[: len(layer) // 2])
                        self.wfile.flush()
                        import socket
                        self.close_connection = True
                        self.connection.shutdown(socket.SHUT_RDWR)
                        return
                    start = int(requested.split("=")[1].split("-")[0])
                    return self.reply(206, layer[start:], "application/octet-stream",
                                      headers={"Content-Range": "bytes %d-%d/%d" % (start, len(layer) - 1, len(layer))})
                if path.startswith("/v2/redirect/"):
                    # Needs basic auth; blobs live on "storage" at 127.0.0.2, which refuses credentials.
                    if self.headers.get("Authorization") is None:
                        return self.reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "login"}]},
                                          headers={"WWW-Authenticate": 'Basic realm="test"'})
                    if "/manifests/" in path:
                        return self.reply(200, slow_manifest, "application/vnd.oci.image.manifest.v1+json")
                    if "/blobs/" in path:
                        target = "http://127.0.0.2:%d/storage/%s" % (port, path.rsplit("/", 1)[1])
                        return self.reply(307, b"", "text/plain", headers={"Location": target})
                if path.startswith("/storage/"):
                    if self.headers.get("Authorization") is not None:
                        return self.reply(400, {"errors": [{"code": "DENIED", "message": "credentials leaked to storage"}]})
                    digest = path.rsplit("/", 1)[1]
                    if digest.endswith(hashlib.sha256(config).hexdigest()):
                        return self.reply(200, config, "application/octet-stream")
                    if digest.endswith(hashlib.sha256(layer).hexdigest()):
                        return self.reply(200, layer, "application/octet-stream")
                    return self.reply(404, {})
                if path.startswith("/v2/e500/"):
                    return self.reply(500, {"errors": [{"code": "UNKNOWN", "message": "storage backend exploded"}]})
                if path.startswith("/v2/hang/"):
                    time.sleep(60)
                    return
                if path.startswith("/v2/deny/"):
                    return self.reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]},
                                      headers={"WWW-Authenticate": 'Basic realm="test"'})
                if path.startswith("/v2/big/") and "/manifests/" in path:
                    return self.reply(200, b"{" + b" " * (5 << 20) + b"}", "application/vnd.oci.image.manifest.v1+json")
                if path.startswith("/v2/weird/") and "/manifests/" in path:
                    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": zero, "size": 2},
                                "layers": [{"mediaType": "application/vnd.example.not-a-layer", "digest": zero, "size": 2}]}
                    return self.reply(200, manifest, "application/vnd.oci.image.manifest.v1+json")
                if path.startswith("/v2/schema1/") and "/manifests/" in path:
                    return self.reply(200, {"schemaVersion": 1, "name": "schema1", "tag": "x", "fsLayers": []},
                                      "application/vnd.docker.distribution.manifest.v1+prettyjws")
                return self.reply(404, {"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]})

        import threading
        storage = ThreadingHTTPServer(("127.0.0.2", port), Handler)
        threading.Thread(target=storage.serve_forever, daemon=True).start()
        ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
        """#

    static func python() -> String {
        for candidate in ["/usr/bin/python3", "/usr/local/bin/python3"] where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        return "/usr/bin/env"
    }

    /// Starts `script` with arguments; the caller stops the returned server.
    static func start(_ script: String, name: String, scratch: Scratch, port: Int, arguments: [String]) throws -> Server {
        let path = "\(scratch.path)/\(name).py"
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        let python = python()
        let command = python == "/usr/bin/env" ? [python, "python3", path] : [python, path]
        return try Server(command + ["\(port)"] + arguments, port: port, log: "\(scratch.path)/\(name).log")
    }
}

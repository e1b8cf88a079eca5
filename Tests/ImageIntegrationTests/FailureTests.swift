import Foundation
import Testing
import OCISpec
import ImageStore
import Registry

/// Registries that fail, lie or hang, and hostile content: each ends in a clear error, a
/// non-zero exit from the CLI, and an unchanged store.
@Suite(.serialized, .enabled(if: integrationEnabled, skipReason))
struct FailureTests {
    func expectStoreUntouched(_ root: String) throws {
        guard FileManager.default.fileExists(atPath: root) else { return }
        let store = try ImageStore(root: root)
        #expect(try store.records().isEmpty)
        #expect(store.content.allDigests().isEmpty)
        #expect(store.snapshots.all().isEmpty)
        let ingest = (try? FileManager.default.contentsOfDirectory(atPath: root + "/ingest")) ?? []
        #expect(ingest.isEmpty)
    }

    @Test func misbehavingRegistryGivesClearErrors() throws {
        let scratch = try Scratch()
        let port = try freePort()
        let server = try PythonServers.start(PythonServers.misbehavingRegistry, name: "bad", scratch: scratch, port: port, arguments: [])
        defer { server.stop() }
        let root = scratch.path + "/store"
        let cases: [(String, String)] = [
            ("missing/app:1", "not found in registry 127.0.0.1:\(port)"),
            ("e500/app:1", "HTTP 500"),
            ("deny/app:1", "denied"),
            // The idle timeout says how often it was tried and how long that took in all.
            ("hang/app:1", "no data for 1 s, 3 tries over "),
            ("big/app:1", "larger than 4 MiB"),
            ("weird/app:1", "unknown layer media type 'application/vnd.example.not-a-layer'"),
            ("schema1/app:1", "schema version 1"),
        ]
        for (name, message) in cases {
            let result = try run([skiffBinary, "pull", "--root", root, "--timeout", "1", "127.0.0.1:\(port)/\(name)"], check: false)
            #expect(result.status != 0, "\(name) must fail")
            #expect(result.stderr.contains(message), "\(name): \(result.stderr)")
            #expect(result.stderr.contains(name.split(separator: ":")[0]), "the error names the image: \(result.stderr)")
            try expectStoreUntouched(root)
        }
    }

    @Test func pullKilledHalfWayLeavesARepairableStore() throws {
        let scratch = try Scratch()
        let port = try freePort()
        let server = try PythonServers.start(PythonServers.misbehavingRegistry, name: "slow", scratch: scratch, port: port, arguments: [])
        defer { server.stop() }
        let root = scratch.path + "/store"
        let pull = Foundation.Process()
        pull.executableURL = URL(fileURLWithPath: skiffBinary)
        pull.arguments = ["pull", "-q", "--root", root, "--timeout", "60", "127.0.0.1:\(port)/slow/app:1"]
        try pull.run()
        // Wait until half the layer sits in the ingest directory, then kill the pull outright.
        var partial = false
        for _ in 0..<100 where !partial {
            usleep(50_000)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: root + "/ingest")) ?? []
            partial = names.contains { name in
                var st = stat()
                return stat(root + "/ingest/" + name, &st) == 0 && st.st_size > 1 << 20
            }
        }
        kill(pull.processIdentifier, SIGKILL)
        pull.waitUntilExit()
        #expect(partial, "the pull must have been killed mid-download")
        let store = try ImageStore(root: root)
        #expect(try store.records().isEmpty, "a killed pull names nothing")
        // The next command repairs the store: the partial download is gone.
        try run([skiffBinary, "images", "--root", root])
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/ingest").isEmpty)
        let blobs = store.content.allDigests()
        #expect(blobs.count <= 1, "at most the verified config blob: \(blobs)")
        _ = try store.prune(all: false)
        #expect(store.content.allDigests().isEmpty)
    }

    @Test func followsRedirectsToBlobStorageWithoutLeakingCredentials() async throws {
        let scratch = try Scratch()
        let port = try freePort()
        let server = try PythonServers.start(
            PythonServers.misbehavingRegistry, name: "redirect", scratch: scratch, port: port, arguments: [])
        defer { server.stop() }
        let authFile = scratch.path + "/auth.json"
        try CredentialStore(skiffFile: authFile, dockerFile: "/nonexistent").save(
            Credentials(username: "u", password: "p"), for: "127.0.0.1:\(port)")
        let store = try ImageStore(root: scratch.path + "/store")
        let image = try await ImagePuller(store: store, options: options(authFile: authFile)).pull(
            try ImageReference(parsing: "127.0.0.1:\(port)/redirect/app:1"))
        #expect(image.manifest.layers.count == 1)
        #expect(store.snapshots.has(image.config.rootfs.diffIDs[0]))
    }

    @Test func resumesACutOffLayerWithARangeRequest() async throws {
        let scratch = try Scratch()
        let port = try freePort()
        let server = try PythonServers.start(PythonServers.misbehavingRegistry, name: "flaky", scratch: scratch, port: port, arguments: [])
        defer { server.stop() }
        let store = try ImageStore(root: scratch.path + "/store")
        let image = try await ImagePuller(store: store, options: options()).pull(
            try ImageReference(parsing: "127.0.0.1:\(port)/flaky/app:1"))
        #expect(store.snapshots.has(image.config.rootfs.diffIDs[0]))
        let log = try String(contentsOfFile: server.log, encoding: .utf8)
        let requests = log.split(separator: "\n").filter { $0.hasPrefix("RANGE") }
        #expect(requests.first == "RANGE None")
        #expect(requests.count == 2 && requests[1].hasPrefix("RANGE bytes=") && !requests[1].hasPrefix("RANGE bytes=0-"), "\(requests)")
    }

    @Test func connectionRefusedAndPlainHTTPPolicy() throws {
        let scratch = try Scratch()
        let port = try freePort()
        let refused = try run([skiffBinary, "pull", "--root", scratch.path + "/store", "127.0.0.1:\(port)/app:1"], check: false)
        #expect(refused.status != 0 && refused.stderr.contains("is the registry running"))
        // Non-loopback names use HTTPS; this only checks the scheme decision, no traffic leaves.
        #expect(RegistryClientProbe.scheme(for: "registry.example.com:5000", insecure: []) == "https")
        #expect(RegistryClientProbe.scheme(for: "registry.example.com:5000", insecure: ["registry.example.com:5000"]) == "http")
        #expect(RegistryClientProbe.scheme(for: "127.0.0.1:5000", insecure: []) == "http")
        #expect(RegistryClientProbe.scheme(for: "localhost:5000", insecure: []) == "http")
        #expect(RegistryClientProbe.scheme(for: "docker.io", insecure: []) == "https")
    }

    @Test func corruptBlobInRegistryIsRejected() async throws {
        let scratch = try Scratch()
        let registry = try LocalRegistry(scratch: scratch)
        defer { registry.stop() }
        let factory = try ImageFactory(scratch: scratch)
        try factory.busybox(tag: "bb")
        try factory.push(tag: "bb", to: "\(registry.host)/corrupt:1")
        // Flip bytes in the stored layer blob behind the registry's back.
        let manifest = try JSONDecoder().decode(
            Manifest.self,
            from: Data(
                try run(["/usr/bin/skopeo", "inspect", "--raw", "--tls-verify=false", "docker://\(registry.host)/corrupt:1"]).stdout.utf8))
        let layer = manifest.layers[0].digest.encoded
        let blobPath = "\(registry.storage)/docker/registry/v2/blobs/sha256/\(layer.prefix(2))/\(layer)/data"
        let handle = try #require(FileHandle(forUpdatingAtPath: blobPath))
        try handle.seek(toOffset: 100)
        handle.write(Data("CORRUPTED".utf8))
        try handle.close()
        let root = scratch.path + "/store"
        let result = try run([skiffBinary, "pull", "--root", root, "\(registry.host)/corrupt:1"], check: false)
        #expect(result.status != 0)
        #expect(result.stderr.contains("but sha256:\(layer) was expected"), "\(result.stderr)")
        let store = try ImageStore(root: root)
        #expect(try store.records().isEmpty)
        #expect(!store.content.has(manifest.layers[0].digest))
        #expect(store.snapshots.all().isEmpty)
    }

    @Test(arguments: ["dotdot", "absolute", "symlink-write", "hardlink-outside", "whiteout-dotdot"])
    func hostileLayerFromRegistryIsRejected(kind: String) async throws {
        let scratch = try Scratch()
        let registry = try LocalRegistry(scratch: scratch)
        defer { registry.stop() }
        let layout = scratch.path + "/hostile"
        try HostileImage.write(kind: kind, layout: layout, scratch: scratch)
        try run([
            "/usr/bin/skopeo", "copy", "--quiet", "--dest-tls-verify=false", "oci:\(layout):evil", "docker://\(registry.host)/evil:\(kind)",
        ])
        let root = scratch.path + "/store"
        let result = try run([skiffBinary, "pull", "--root", root, "\(registry.host)/evil:\(kind)"], check: false)
        #expect(result.status != 0)
        #expect(result.stderr.contains("hostile"), "\(kind): \(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "/tmp/skiff-hostile-escape-\(kind)"))
        let store = try ImageStore(root: root)
        #expect(try store.records().isEmpty)
        #expect(store.snapshots.all().isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/snapshots").isEmpty, "no half-unpacked snapshot left")
    }
}

/// Mirrors the client's scheme decision for the policy test.
enum RegistryClientProbe {
    static func scheme(for registry: String, insecure: Set<String>) -> String {
        var options = RegistryOptions()
        options.insecureRegistries = insecure
        return (try? RegistryClient(registry: registry, options: options))?.baseURLScheme ?? "?"
    }
}

/// Writes an OCI layout holding one image whose single layer is hostile, built with Python's
/// tarfile (which writes whatever names it is given).
enum HostileImage {
    static func write(kind: String, layout: String, scratch: Scratch) throws {
        let escape = "/tmp/skiff-hostile-escape-\(kind)"
        let script = #"""
            import io, sys, tarfile
            kind, out, escape = sys.argv[1], sys.argv[2], sys.argv[3]
            tar = tarfile.open(out, "w:gz", format=tarfile.PAX_FORMAT)
            def add(name, data=b"pwned", **kw):
                info = tarfile.TarInfo(name)
                for k, v in kw.items():
                    setattr(info, k, v)
                if info.type == tarfile.REGTYPE:
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
                else:
                    tar.addfile(info)
            if kind == "dotdot":
                add("../../../../../.." + escape)
            elif kind == "absolute":
                add(escape)
            elif kind == "symlink-write":
                add("link", type=tarfile.SYMTYPE, linkname="/tmp")
                add("link/" + escape.split("/")[-1])
            elif kind == "hardlink-outside":
                add("stolen", type=tarfile.LNKTYPE, linkname="../../../../../../etc/passwd")
            elif kind == "whiteout-dotdot":
                add("dir", type=tarfile.DIRTYPE)
                add("dir/.wh..", data=b"")
            tar.close()
            """#
        try FileManager.default.createDirectory(atPath: layout + "/blobs/sha256", withIntermediateDirectories: true)
        try script.write(toFile: scratch.path + "/hostile.py", atomically: true, encoding: .utf8)
        let layerPath = scratch.path + "/hostile.tar.gz"
        try run([PythonServers.python(), scratch.path + "/hostile.py", kind, layerPath, escape])
        let compressed = try [UInt8](Data(contentsOf: URL(fileURLWithPath: layerPath)))
        let plain = try run(["/bin/sh", "-c", "gzip -dc \(layerPath) | sha256sum"]).stdout.prefix(64)
        func put(_ bytes: [UInt8]) throws -> Digest {
            let digest = SHA256Hasher.digest(bytes)
            try Data(bytes).write(to: URL(fileURLWithPath: "\(layout)/blobs/sha256/\(digest.encoded)"))
            return digest
        }
        let layerDigest = try put(compressed)
        let config = ImageConfig(architecture: "amd64", os: "linux", rootfs: RootFS(diffIDs: [try Digest(sha256Hex: String(plain))]))
        let configBytes = [UInt8](try JSONEncoder().encode(config))
        let configDigest = try put(configBytes)
        let manifest = Manifest(
            config: Descriptor(mediaType: MediaType.ociConfig, digest: configDigest, size: Int64(configBytes.count)),
            layers: [Descriptor(mediaType: MediaType.ociLayerGzip, digest: layerDigest, size: Int64(compressed.count))])
        let manifestBytes = [UInt8](try JSONEncoder().encode(manifest))
        let manifestDigest = try put(manifestBytes)
        let index = Index(manifests: [
            Descriptor(
                mediaType: MediaType.ociManifest, digest: manifestDigest, size: Int64(manifestBytes.count),
                annotations: [Descriptor.refNameAnnotation: "evil"])
        ])
        try JSONEncoder().encode(index).write(to: URL(fileURLWithPath: layout + "/index.json"))
        try #"{"imageLayoutVersion":"1.0.0"}"#.write(toFile: layout + "/oci-layout", atomically: true, encoding: .utf8)
    }
}

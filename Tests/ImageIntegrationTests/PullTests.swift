import Foundation
import Testing
import OCISpec
import ImageStore
import Registry

/// Images built with umoci, pushed with skopeo to a real docker-registry on 127.0.0.1, pulled
/// with skiff and compared file by file with `umoci unpack` of the same image.
@Suite(.serialized, .enabled(if: integrationEnabled, skipReason))
struct PullTests {
    func pullAndCompare(
        scratch: Scratch, factory: ImageFactory, tag: String, name: String, registry: LocalRegistry, platform: Platform = .linuxAmd64
    ) async throws -> (Image, [String: String]) {
        let store = try ImageStore(root: scratch.path + "/store")
        let image = try await ImagePuller(store: store, options: options(), platform: platform).pull(
            try ImageReference(parsing: "\(registry.host)/\(name)"))
        let id = "cmp-\(UUID().uuidString.prefix(8))"
        let rootfs = try store.prepareRootfs(image: image, containerID: id)
        defer { try? store.release(containerID: id) }
        let expected = try describeTree(try factory.umociRootfs(tag: tag))
        let actual = try describeTree(rootfs)
        var expectedNoRoot = expected, actualNoRoot = actual
        // The overlay mount point's own directory is the container's, not the image's.
        expectedNoRoot.removeValue(forKey: "/")
        actualNoRoot.removeValue(forKey: "/")
        for key in Set(expectedNoRoot.keys).union(actualNoRoot.keys).sorted() where expectedNoRoot[key] != actualNoRoot[key] {
            Issue.record("\(key): umoci \(expectedNoRoot[key] ?? "missing") vs skiff \(actualNoRoot[key] ?? "missing")")
        }
        #expect(actual["bin/busybox"] != nil, "the comparison must have seen the image's files")
        return (image, actual)
    }

    @Test func pullsBusyboxLikeUmociUnpacks() async throws {
        let scratch = try Scratch()
        let registry = try LocalRegistry(scratch: scratch)
        defer { registry.stop() }
        let factory = try ImageFactory(scratch: scratch)
        try factory.busybox(tag: "bb")
        try factory.push(tag: "bb", to: "\(registry.host)/busybox:1")
        let (image, _) = try await pullAndCompare(scratch: scratch, factory: factory, tag: "bb", name: "busybox:1", registry: registry)
        #expect(image.config.config?.cmd == ["sh"])
        #expect(image.names == ["\(registry.host)/busybox:1"])

        // The CLI sees it, lists it as JSON, inspects it, and removes it with everything it used.
        let root = scratch.path + "/store"
        let listed = try run([skiffBinary, "images", "--root", root, "--format", "json"]).stdout
        let rows = try JSONSerialization.jsonObject(with: Data(listed.utf8)) as? [[String: Any]]
        #expect(rows?.first?["Repository"] as? String == "\(registry.host)/busybox")
        #expect(rows?.first?["Tag"] as? String == "1")
        #expect(rows?.first?["ID"] as? String == image.id.description)
        let inspected = try run([skiffBinary, "image", "inspect", "--root", root, String(image.id.encoded.prefix(12))]).stdout
        #expect(inspected.contains(image.config.rootfs.diffIDs[0].description))
        try run([skiffBinary, "rmi", "--root", root, "\(registry.host)/busybox:1"])
        let store = try ImageStore(root: root)
        #expect(try store.records().isEmpty && store.content.allDigests().isEmpty && store.snapshots.all().isEmpty)
        let missing = try run([skiffBinary, "rmi", "--root", root, "\(registry.host)/busybox:1"], check: false)
        #expect(missing.status != 0 && missing.stderr.contains("not found in the local store"))
    }

    @Test func pullsMultiLayerImageWithWhiteouts() async throws {
        let scratch = try Scratch()
        let registry = try LocalRegistry(scratch: scratch)
        defer { registry.stop() }
        let factory = try ImageFactory(scratch: scratch)
        try factory.multiLayer(tag: "multi")
        try factory.push(tag: "multi", to: "\(registry.host)/multi:1")
        let (image, tree) = try await pullAndCompare(scratch: scratch, factory: factory, tag: "multi", name: "multi:1", registry: registry)
        #expect(image.manifest.layers.count == 3)
        #expect(tree["etc/deleted"] == nil && tree["data/replace/old"] == nil && tree["bin/ls"] == nil)
        #expect(tree["data/replace/new"] != nil && tree["etc/conf.d/a"] != nil)
        #expect(tree["usr/bin/su-like"]?.hasPrefix("mode=104755") == true)
        #expect(tree["data/owned"]?.contains("uid=1234 gid=4321") == true)
        #expect(tree["data/keep/file"]?.contains("user.skiff=yes") == true)
    }

    @Test func pullsZstdLayers() async throws {
        let scratch = try Scratch()
        let registry = try LocalRegistry(scratch: scratch)
        defer { registry.stop() }
        let factory = try ImageFactory(scratch: scratch)
        try factory.multiLayer(tag: "z")
        try factory.push(tag: "z", to: "\(registry.host)/zstd:1", extra: ["--dest-compress-format", "zstd"])
        let (image, _) = try await pullAndCompare(scratch: scratch, factory: factory, tag: "z", name: "zstd:1", registry: registry)
        #expect(image.manifest.layers.allSatisfy { MediaType.layerCompression($0.mediaType) == .zstd })
    }

    @Test func picksPlatformFromIndexAndPullsByDigest() async throws {
        let scratch = try Scratch()
        let registry = try LocalRegistry(scratch: scratch)
        defer { registry.stop() }
        let factory = try ImageFactory(scratch: scratch)
        try factory.busybox(tag: "amd")
        try factory.multiLayer(tag: "arm")
        try run(["/usr/bin/umoci", "config", "--image", "\(factory.layout):arm", "--architecture", "arm64"])
        try MultiPlatformLayout.makeIndex(layout: factory.layout, tags: ["amd", "arm"], as: "multi")
        try factory.push(tag: "multi", to: "\(registry.host)/multi:1", all: true)

        let store = try ImageStore(root: scratch.path + "/store")
        let amd = try await ImagePuller(store: store, options: options()).pull(try ImageReference(parsing: "\(registry.host)/multi:1"))
        #expect(amd.config.architecture == "amd64")
        #expect(amd.indexDigest != nil)
        let arm = try await ImagePuller(store: store, options: options(), platform: try Platform(parsing: "linux/arm64"))
            .pull(try ImageReference(parsing: "\(registry.host)/multi:1"))
        #expect(arm.config.architecture == "arm64")
        #expect(arm.manifest.layers.count == 3)
        await #expect {
            try await ImagePuller(store: store, options: options(), platform: try Platform(parsing: "linux/s390x"))
                .pull(try ImageReference(parsing: "\(registry.host)/multi:1"))
        } throws: { error in
            guard case RegistryError.noMatchingPlatform = error else { return false }
            return true
        }
        // By digest: the platform manifest's digest pins exactly that manifest.
        let pinned = try await ImagePuller(store: store, options: options())
            .pull(try ImageReference(parsing: "\(registry.host)/multi@\(arm.manifestDigest)"))
        #expect(pinned.manifestDigest == arm.manifestDigest)
    }

    @Test func twoProcessesPullingTheSameImageBothSucceed() throws {
        let scratch = try Scratch()
        let registry = try LocalRegistry(scratch: scratch)
        defer { registry.stop() }
        let factory = try ImageFactory(scratch: scratch)
        try factory.multiLayer(tag: "m")
        try factory.push(tag: "m", to: "\(registry.host)/race:1")
        let processes = try (0..<2).map { _ -> Foundation.Process in
            let process = Foundation.Process()
            process.executableURL = URL(fileURLWithPath: skiffBinary)
            process.arguments = ["pull", "-q", "--root", scratch.path + "/store", "\(registry.host)/race:1"]
            try process.run()
            return process
        }
        for process in processes {
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
        }
        let store = try ImageStore(root: scratch.path + "/store")
        #expect(store.snapshots.all().count == 3)
        #expect(try store.images().count == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path + "/store/ingest").isEmpty)
    }
}

/// Writes an OCI image index over several tags of a layout, the way a multi-platform build would.
enum MultiPlatformLayout {
    static func makeIndex(layout: String, tags: [String], as newTag: String) throws {
        let indexURL = URL(fileURLWithPath: layout + "/index.json")
        var top = try JSONDecoder().decode(Index.self, from: Data(contentsOf: indexURL))
        var entries: [Descriptor] = []
        for tag in tags {
            guard var descriptor = top.manifests.first(where: { $0.annotations?[Descriptor.refNameAnnotation] == tag }) else {
                throw TestError("tag \(tag) not in layout")
            }
            let manifest = try JSONDecoder().decode(
                Manifest.self, from: Data(contentsOf: URL(fileURLWithPath: "\(layout)/blobs/sha256/\(descriptor.digest.encoded)")))
            let config = try JSONDecoder().decode(
                ImageConfig.self, from: Data(contentsOf: URL(fileURLWithPath: "\(layout)/blobs/sha256/\(manifest.config.digest.encoded)")))
            descriptor.annotations = nil
            descriptor.platform = config.platform
            entries.append(descriptor)
        }
        let index = Index(manifests: entries)
        let bytes = [UInt8](try JSONEncoder().encode(index))
        let digest = SHA256Hasher.digest(bytes)
        try Data(bytes).write(to: URL(fileURLWithPath: "\(layout)/blobs/sha256/\(digest.encoded)"))
        top.manifests.append(
            Descriptor(
                mediaType: MediaType.ociIndex, digest: digest, size: Int64(bytes.count), annotations: [Descriptor.refNameAnnotation: newTag]
            ))
        try JSONEncoder().encode(top).write(to: indexURL)
    }
}

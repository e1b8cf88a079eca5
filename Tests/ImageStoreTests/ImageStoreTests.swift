import Foundation
import Testing
import OCISpec
@testable import ImageStore

/// Builds small images straight into a store, as a pull or load would leave them.
struct ImageFixture {
    let store: ImageStore
    let tmp: TemporaryDirectory

    /// Writes layers (each a closure filling a TarBuilder), a config and a manifest; names it.
    func addImage(_ name: String, layers: [(TarBuilder) -> Void]) throws -> Digest {
        var descriptors: [Descriptor] = []
        var diffIDs: [Digest] = []
        for (i, fill) in layers.enumerated() {
            let plainPath = "\(tmp.path)/layer-\(UUID().uuidString)-\(i)"
            let plain = try TarBuilder(path: plainPath, compression: .none)
            fill(plain)
            plain.finish()
            diffIDs.append(SHA256Hasher.digest(try [UInt8](Data(contentsOf: URL(fileURLWithPath: plainPath)))))
            let gzPath = plainPath + ".gz"
            let gz = try TarBuilder(path: gzPath, compression: .gzip)
            fill(gz)
            gz.finish()
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: gzPath)))
            let digest = try store.content.write(bytes)
            descriptors.append(Descriptor(mediaType: MediaType.ociLayerGzip, digest: digest, size: Int64(bytes.count)))
        }
        let config = ImageConfig(architecture: "amd64", os: "linux", config: ContainerConfig(cmd: ["sh"]), rootfs: RootFS(diffIDs: diffIDs))
        let configBytes = Array(try JSONEncoder().encode(config))
        let configDigest = try store.content.write(configBytes)
        let manifest = Manifest(
            config: Descriptor(mediaType: MediaType.ociConfig, digest: configDigest, size: Int64(configBytes.count)), layers: descriptors)
        let manifestBytes = Array(try JSONEncoder().encode(manifest))
        let manifestDigest = try store.content.write(manifestBytes)
        try store.unpack(manifest: manifest, config: config)
        try store.setName(try ImageReference(parsing: name), manifest: manifestDigest)
        return manifestDigest
    }
}

@Suite(.enabled(if: isRoot, "snapshots keep ownership and overlay mounts need root"))
struct ImageStoreTests {
    @Test func contentStoreVerifiesBeforeNaming() throws {
        let tmp = try TemporaryDirectory()
        let store = try ImageStore(root: tmp.path + "/root")
        let good = SHA256Hasher.digest(Array("hello".utf8))
        #expect(throws: StoreError.self) { try store.content.write(Array("jello".utf8), expected: good) }
        #expect(!store.content.has(good))
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp.path + "/root/ingest").isEmpty)
        try store.content.write(Array("hello".utf8), expected: good)
        #expect(store.content.has(good, size: 5))
        let writer = try BlobWriter(store: store.content, what: "test blob", sizeLimit: 3)
        #expect(throws: StoreError.self) { try Array("toolong".utf8).withUnsafeBytes { try writer.write($0) } }
        writer.abort()
    }

    @Test func rejectsLayerWhoseDiffIDDoesNotMatch() throws {
        let tmp = try TemporaryDirectory()
        let store = try ImageStore(root: tmp.path + "/root")
        let tar = try TarBuilder(path: tmp.path + "/l", compression: .gzip)
        tar.file("a", "x").finish()
        let blob = try store.content.write(try [UInt8](Data(contentsOf: URL(fileURLWithPath: tmp.path + "/l"))))
        let wrong = SHA256Hasher.digest([1, 2, 3])
        #expect(throws: StoreError.self) {
            try store.snapshots.ensure(diffID: wrong, layer: blob, blobPath: store.content.path(for: blob))
        }
        #expect(!store.snapshots.has(wrong))
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp.path + "/root/snapshots").isEmpty)
    }

    @Test func assemblesOverlayRootfsAndCollectsGarbage() throws {
        let tmp = try TemporaryDirectory()
        let store = try ImageStore(root: tmp.path + "/root")
        let fixture = ImageFixture(store: store, tmp: tmp)
        _ = try fixture.addImage(
            "test/base:1",
            layers: [
                { $0.dir("etc").file("etc/keep", "base").file("etc/gone", "x").dir("data").file("data/old", "o") },
                { $0.file("etc/.wh.gone", "").file("data/.wh..wh..opq", "").file("data/new", "n").file("etc/keep", "top") },
            ])
        let image = try store.image("test/base:1")
        #expect(image.names == ["docker.io/test/base:1"])
        let id = "ctr-\(UUID().uuidString.prefix(8))"
        let rootfs = try store.prepareRootfs(image: image, containerID: id)
        #expect(try String(contentsOfFile: rootfs + "/etc/keep", encoding: .utf8) == "top")
        #expect(!FileManager.default.fileExists(atPath: rootfs + "/etc/gone"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: rootfs + "/data") == ["new"])
        try "written".write(toFile: rootfs + "/etc/new-file", atomically: false, encoding: .utf8)
        #expect(throws: StoreError.self) { _ = try store.prepareRootfs(image: image, containerID: id) }

        // In use: rmi refuses; after release it removes everything.
        #expect(throws: StoreError.self) { _ = try store.remove(["test/base:1"]) }
        try store.release(containerID: id)
        #expect(!FileManager.default.fileExists(atPath: tmp.path + "/root/containers/\(id)"))
        let report = try store.remove(["test/base:1"])
        #expect(report.removedNames == ["docker.io/test/base:1"])
        #expect(report.removedSnapshots.count == 2)
        #expect(store.content.allDigests().isEmpty)
        #expect(store.snapshots.all().isEmpty)
    }

    @Test func sharesLayersAndKeepsWhatOthersUse() throws {
        let tmp = try TemporaryDirectory()
        let store = try ImageStore(root: tmp.path + "/root")
        let fixture = ImageFixture(store: store, tmp: tmp)
        let base: (TarBuilder) -> Void = { $0.file("bin/sh", "shell", mode: 0o755) }
        _ = try fixture.addImage("one", layers: [base])
        _ = try fixture.addImage("two", layers: [base, { $0.file("app", "a") }])
        #expect(store.snapshots.all().count == 2)
        try store.tag("one", as: try ImageReference(parsing: "127.0.0.1:5000/one:copy"))
        _ = try store.remove(["one"])
        #expect(try store.image("127.0.0.1:5000/one:copy").names == ["127.0.0.1:5000/one:copy"])
        _ = try store.remove(["127.0.0.1:5000/one:copy"])
        #expect(store.snapshots.all().count == 2, "the base layer is still used by 'two'")
        let report = try store.prune(all: true)
        #expect(report.removedNames == ["docker.io/library/two:latest"])
        #expect(store.snapshots.all().isEmpty && store.content.allDigests().isEmpty)
    }

    @Test func nextCommandRemovesWhatAKilledPullLeft() throws {
        let tmp = try TemporaryDirectory()
        let store = try ImageStore(root: tmp.path + "/root")
        try FileManager.default.createDirectory(atPath: tmp.path + "/root/snapshots/.tmp-123-abc/fs/etc", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: tmp.path + "/root/ingest", withIntermediateDirectories: true)
        try "partial".write(toFile: tmp.path + "/root/ingest/123-xyz", atomically: false, encoding: .utf8)
        _ = try store.withSharedLock { try store.images() }
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp.path + "/root/snapshots").isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp.path + "/root/ingest").isEmpty)
    }
}

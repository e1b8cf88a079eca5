import Foundation
import Testing
import OCISpec
import ImageStore
import Registry

/// `skiff save` archives read by skopeo and umoci, and archives written by skopeo read by
/// `skiff load`, in both OCI layout and docker save form.
@Suite(.serialized, .enabled(if: integrationEnabled, skipReason))
struct LoadSaveTests {
    func rootfsTree(_ store: ImageStore, _ name: String) throws -> [String: String] {
        let image = try store.image(name)
        let id = "ls-\(UUID().uuidString.prefix(8))"
        let rootfs = try store.prepareRootfs(image: image, containerID: id)
        defer { try? store.release(containerID: id) }
        var tree = try describeTree(rootfs)
        tree.removeValue(forKey: "/")
        return tree
    }

    func umociTree(_ factory: ImageFactory, _ tag: String) throws -> [String: String] {
        var tree = try describeTree(try factory.umociRootfs(tag: tag))
        tree.removeValue(forKey: "/")
        return tree
    }

    @Test func saveIsReadableAsOCIAndDockerArchiveAndLoadsBack() async throws {
        let scratch = try Scratch()
        let registry = try LocalRegistry(scratch: scratch)
        defer { registry.stop() }
        let factory = try ImageFactory(scratch: scratch)
        try factory.multiLayer(tag: "m")
        try factory.push(tag: "m", to: "\(registry.host)/saved:1")
        let store = try ImageStore(root: scratch.path + "/store")
        let image = try await ImagePuller(store: store, options: options()).pull(try ImageReference(parsing: "\(registry.host)/saved:1"))
        let archive = scratch.path + "/saved.tar"
        try run([skiffBinary, "save", "--root", store.root, "-o", archive, "\(registry.host)/saved:1"])

        // skopeo reads it as an OCI archive (by tag) and as a docker archive.
        let oci = try run(["/usr/bin/skopeo", "inspect", "--raw", "oci-archive:\(archive):1"]).stdout
        #expect(SHA256Hasher.digest(Array(oci.utf8)) == image.manifestDigest)
        try run(["/usr/bin/skopeo", "copy", "--quiet", "docker-archive:\(archive)", "oci:\(scratch.path)/from-docker:x"])
        try run(["/usr/bin/umoci", "unpack", "--image", "\(scratch.path)/from-docker:x", scratch.path + "/from-docker-bundle"])
        var fromDocker = try describeTree(scratch.path + "/from-docker-bundle/rootfs")
        fromDocker.removeValue(forKey: "/")
        let expected = try umociTree(factory, "m")
        #expect(fromDocker == expected)

        // skiff load into a fresh store gives the same image and tree.
        let other = try ImageStore(root: scratch.path + "/other")
        let loaded = try run([skiffBinary, "load", "--root", other.root, "-i", archive]).stdout
        #expect(loaded.contains("Loaded image: \(registry.host)/saved:1"))
        #expect(try other.image("\(registry.host)/saved:1").manifestDigest == image.manifestDigest)
        #expect(try rootfsTree(other, "\(registry.host)/saved:1") == expected)
    }

    @Test(arguments: ["docker-archive", "oci-archive"])
    func loadsArchivesSkopeoWrote(transport: String) throws {
        let scratch = try Scratch()
        let factory = try ImageFactory(scratch: scratch)
        try factory.multiLayer(tag: "m")
        let archive = scratch.path + "/\(transport).tar"
        let destination =
            transport == "docker-archive"
            ? "\(transport):\(archive):example.com/team/app:7" : "\(transport):\(archive):example.com/team/app:7"
        try run(["/usr/bin/skopeo", "copy", "--quiet", "oci:\(factory.layout):m", destination])
        let store = try ImageStore(root: scratch.path + "/store")
        let output = try run([skiffBinary, "load", "--root", store.root, "-i", archive]).stdout
        #expect(output.contains("Loaded image: example.com/team/app:7"), "\(output)")
        #expect(try rootfsTree(store, "example.com/team/app:7") == umociTree(factory, "m"))
    }

    @Test func rejectsArchiveWithTamperedBlob() throws {
        let scratch = try Scratch()
        let factory = try ImageFactory(scratch: scratch)
        try factory.busybox(tag: "bb")
        // Tamper with the layer blob of the layout, then archive it.
        let index = try JSONDecoder().decode(Index.self, from: Data(contentsOf: URL(fileURLWithPath: factory.layout + "/index.json")))
        let manifest = try JSONDecoder().decode(
            Manifest.self,
            from: Data(contentsOf: URL(fileURLWithPath: "\(factory.layout)/blobs/sha256/\(index.manifests[0].digest.encoded)")))
        let layerPath = "\(factory.layout)/blobs/sha256/\(manifest.layers[0].digest.encoded)"
        let handle = try #require(FileHandle(forUpdatingAtPath: layerPath))
        try handle.seek(toOffset: 200)
        handle.write(Data("TAMPERED".utf8))
        try handle.close()
        let archive = scratch.path + "/bad.tar"
        try run(["/bin/tar", "-C", factory.layout, "-cf", archive, "."])
        let store = try ImageStore(root: scratch.path + "/store")
        let result = try run([skiffBinary, "load", "--root", store.root, "-i", archive], check: false)
        #expect(result.status != 0)
        #expect(result.stderr.contains("was expected"), "\(result.stderr)")
        #expect(try store.records().isEmpty)
    }
}

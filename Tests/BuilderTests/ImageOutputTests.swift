#if canImport(Glibc)
import Glibc
#endif
import Builder
import ImageStore
import LinuxSupport
import OCISpec
import Testing

/// A build's output stored as an image: the layer from an upper directory goes through the
/// store's own unpacker (whiteouts back into overlay form), and the config a stage made reads
/// back through the store by name.
@Suite struct ImageOutputTests {
    func temporaryDirectory(_ prefix: String) throws -> String {
        var template = Array("/tmp/\(prefix)-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw SystemError("mkdtemp") }
        return String(cString: made)
    }

    func remove(_ path: String) {
        _ = try? Subprocess.run(path: "/bin/rm", args: ["rm", "-rf", path], env: [])
    }

    @Test func aBuiltImageReadsBackByNameWithItsLayer() throws {
        guard getuid() == 0 else {
            print("skipped: whiteouts (0/0 character devices) need root")
            return
        }
        let root = try temporaryDirectory("skiff-build-store")
        let upper = try temporaryDirectory("skiff-build-upper")
        defer {
            remove(root)
            remove(upper)
        }
        try FileIO.makeDirectories(upper + "/app", mode: 0o755)
        try FileIO.write(upper + "/app/hello", Array("hi\n".utf8), mode: 0o755)
        guard mknod(upper + "/deleted", S_IFCHR | 0o000, 0) == 0 else { throw SystemError("mknod") }
        let store = try ImageStore(root: root)

        let empty = try temporaryDirectory("skiff-build-empty")
        defer { remove(empty) }
        #expect(try ImageOutput.storeLayer(upper: empty, in: store, what: "empty step") == nil)

        let layer = try #require(try ImageOutput.storeLayer(upper: upper, in: store, what: "step 1"))
        #expect(layer.mediaType == MediaType.ociLayer)
        #expect(store.content.has(layer.digest, size: layer.size))

        let file = try DockerfileParser().parse("FROM scratch\nENV GREETING=hi\nWORKDIR /app\nCMD [\"/app/hello\"]\nLABEL a=b")
        var state = StageState(base: nil)
        for parsed in file.stages[0].instructions { _ = try state.apply(parsed) }
        state.recordLayer(createdBy: "COPY hello /app/", diffID: layer.digest)
        let name = try ImageReference(parsing: "localhost/skiff-built:1")
        let stored = try ImageOutput.storeImage(config: state.image, layers: [layer], names: [name], in: store)

        let image = try store.image("localhost/skiff-built:1")
        #expect(image.id == stored.id)
        #expect(image.manifestDigest == stored.manifest)
        #expect(image.config.rootfs.diffIDs == [layer.digest])
        #expect(image.config.config?.env == [StageState.defaultPath, "GREETING=hi"])
        #expect(image.config.config?.cmd == ["/app/hello"])
        #expect(image.config.config?.workingDir == "/app")
        #expect(image.config.config?.labels == ["a": "b"])
        #expect(image.config.history?.last?.createdBy == "COPY hello /app/")
        #expect(image.config.created != nil)

        // The store unpacked the layer: the file, and the whiteout as overlayfs wants it.
        let snapshot = store.snapshots.path(for: layer.digest)
        #expect(try FileIO.read(snapshot + "/app/hello") == Array("hi\n".utf8))
        var st = stat()
        #expect(lstat(snapshot + "/deleted", &st) == 0)
        #expect(st.st_mode & S_IFMT == S_IFCHR && st.st_rdev == 0)
        #expect(lstat(snapshot + "/app/hello", &st) == 0 && st.st_mode & 0o777 == 0o755)
    }
}

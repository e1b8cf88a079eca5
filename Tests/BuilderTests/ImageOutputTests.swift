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

        // gzip by default: the blob is the compressed stream, the diff_id the tar's digest (the
        // store's unpack below checks the one against the other).
        let stored = try #require(try ImageOutput.storeLayer(upper: upper, in: store, what: "step 1"))
        let layer = stored.descriptor
        #expect(layer.mediaType == MediaType.ociLayerGzip)
        #expect(store.content.has(layer.digest, size: layer.size))
        #expect(stored.diffID != layer.digest)
        #expect(try Array(store.content.read(layer.digest).prefix(2)) == [0x1f, 0x8b])

        let file = try DockerfileParser().parse("FROM scratch\nENV GREETING=hi\nWORKDIR /app\nCMD [\"/app/hello\"]\nLABEL a=b")
        var state = StageState(base: nil)
        for parsed in file.stages[0].instructions { _ = try state.apply(parsed) }
        state.recordLayer(createdBy: "COPY hello /app/", diffID: stored.diffID)
        let name = try ImageReference(parsing: "localhost/skiff-built:1")
        let image = try ImageOutput.storeImage(config: state.image, layers: [layer], names: [name], in: store)

        let found = try store.image("localhost/skiff-built:1")
        #expect(found.id == image.id)
        #expect(found.manifestDigest == image.manifest)
        #expect(found.config.rootfs.diffIDs == [stored.diffID])
        #expect(found.config.config?.env == [StageState.defaultPath, "GREETING=hi"])
        #expect(found.config.config?.cmd == ["/app/hello"])
        #expect(found.config.config?.workingDir == "/app")
        #expect(found.config.config?.labels == ["a": "b"])
        #expect(found.config.history?.last?.createdBy == "COPY hello /app/")
        #expect(found.config.created != nil)

        // The store unpacked the layer: the file, and the whiteout as overlayfs wants it.
        let snapshot = store.snapshots.path(for: stored.diffID)
        #expect(try FileIO.read(snapshot + "/app/hello") == Array("hi\n".utf8))
        var st = stat()
        #expect(lstat(snapshot + "/deleted", &st) == 0)
        #expect(st.st_mode & S_IFMT == S_IFCHR && st.st_rdev == 0)
        #expect(lstat(snapshot + "/app/hello", &st) == 0 && st.st_mode & 0o777 == 0o755)
    }

    /// zstd and plain tar store too; `adopt` makes the step's directory the snapshot itself
    /// (moved: nothing is unpacked, nothing left behind), with the content the blob promises.
    @Test(.enabled(if: getuid() == 0, "needs root (whiteout device nodes)"))
    func otherCompressionsAndAdoptedSnapshots() throws {
        let root = try temporaryDirectory("skiff-build-store")
        defer { remove(root) }
        let store = try ImageStore(root: root)
        for compression in [LayerCompression.zstd, .uncompressed] {
            let upper = root + "/build-tmp-\(compression.rawValue)"
            try FileIO.makeDirectories(upper + "/dir", mode: 0o755)
            try FileIO.write(upper + "/dir/file", Array("\(compression)\n".utf8), mode: 0o644)
            let stored = try #require(
                try ImageOutput.storeLayer(upper: upper, in: store, what: "step", adopt: true, compression: compression))
            #expect(stored.descriptor.mediaType == (compression == .zstd ? MediaType.ociLayerZstd : MediaType.ociLayer))
            #expect((stored.diffID == stored.descriptor.digest) == (compression == .uncompressed))
            #expect(!FileIO.exists(upper))
            #expect(store.snapshots.has(stored.diffID))
            let snapshot = store.snapshots.path(for: stored.diffID)
            #expect(try FileIO.read(snapshot + "/dir/file") == Array("\(compression)\n".utf8))
            var st = stat()
            #expect(stat(snapshot, &st) == 0 && st.st_mode & 0o777 == 0o755)
            // The blob unpacks to the same diff_id (the store's own check).
            let check = try temporaryDirectory("skiff-build-unpack")
            defer { remove(check) }
            let unpacked = try LayerUnpacker(layer: stored.descriptor.digest).unpack(
                blobPath: store.content.path(for: stored.descriptor.digest), into: check)
            #expect(unpacked == stored.diffID)
        }
    }
}

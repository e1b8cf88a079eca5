import ImageStore
import JSON
import LinuxSupport
import OCISpec

/// What a build leaves in the image store: layer blobs from build steps' upper directories
/// (compressed as asked: gzip by default; the config's diff_id is the uncompressed tar's digest)
/// and, at the end, the config, the manifest and the names. The store unpacks layers into
/// snapshots like any pulled layer, or adopts a step's own directory as the snapshot, so the
/// engine runs the result as it is.
public enum ImageOutput {
    /// A layer blob as the manifest lists it and its diff_id.
    public struct StoredLayer: Sendable {
        public var descriptor: Descriptor
        public var diffID: Digest
    }

    /// The diff in `upper` as a layer blob (compressed as asked: builds store gzip unless told
    /// otherwise, as docker), or nil when the step changed nothing. `adopt`: the
    /// directory (a build step's own, on the store's filesystem) becomes the layer's snapshot
    /// as it is, moved away, so the store need not unpack the blob again.
    public static func storeLayer(
        upper: String, in store: ImageStore, what: String, adopt: Bool = false, compression: LayerCompression = .gzip
    ) throws -> StoredLayer? {
        // An empty upper directory changed nothing (its tar would be only the end blocks).
        if try LayerDiff.names(inDirectory: upper).isEmpty { return nil }
        let layer = try storeLayer(in: store, what: what, compression: compression) { sink in
            try LayerDiff.write(upper: upper) { try sink($0) }
        }
        if adopt { _ = try store.snapshots.adopt(tree: upper, diffID: layer.diffID) }
        return layer
    }

    /// The layer tar read from `fd` (to its end) as a layer blob, compressed as asked. The tar is
    /// stored as it is: the store unpacks it under its layer rules like a pulled one.
    public static func storeLayer(tar fd: Int32, in store: ImageStore, what: String, compression: LayerCompression = .gzip) throws
        -> StoredLayer
    {
        try storeLayer(in: store, what: what, compression: compression) { sink in
            try FileIO.readChunks(fd: fd, what: what) { try sink($0) }
        }
    }

    /// A layer blob of what `produce` writes (an uncompressed tar) to the sink it is given.
    private static func storeLayer(
        in store: ImageStore, what: String, compression: LayerCompression,
        produce: (_ sink: @escaping (UnsafeRawBufferPointer) throws -> Void) throws -> Void
    ) throws -> StoredLayer {
        let writer = try BlobWriter(store: store.content, what: what)
        let diffID: Digest?
        do {
            if compression == .uncompressed {
                try produce { try writer.write($0) }
                diffID = nil
            } else {
                let compressor = try LayerCompressor(compression) { try writer.write($0) }
                try produce { try compressor.write($0) }
                diffID = try compressor.finish()
            }
        } catch {
            writer.abort()
            throw error
        }
        let size = writer.bytesWritten
        let digest = try writer.commit(expectedDigest: nil, expectedSize: nil)
        return StoredLayer(
            descriptor: Descriptor(mediaType: compression.layerMediaType, digest: digest, size: size), diffID: diffID ?? digest)
    }

    /// Stores `config` (whose diff_ids pair up with `layers`) as an image, unpacks
    /// its layers and points `names` at it. Returns the manifest and the image ID (config digest).
    public static func storeImage(
        config: ImageConfig, layers: [Descriptor], names: [ImageReference], in store: ImageStore, created: String = Timestamp.now(),
        onBuild: [String] = []
    ) throws -> (manifest: Digest, id: Digest) {
        var config = config
        config.created = created
        var configBytes = try JSONEncoding.encode(config, sortedKeys: true)
        if !onBuild.isEmpty { configBytes = try withOnBuild(configBytes, onBuild) }
        return try store.withSharedLock {
            let configDigest = try store.content.write(configBytes)
            let manifest = Manifest(
                config: Descriptor(mediaType: MediaType.ociConfig, digest: configDigest, size: Int64(configBytes.count)), layers: layers)
            let manifestDigest = try store.content.write(try JSONEncoding.encode(manifest, sortedKeys: true))
            try store.unpack(manifest: manifest, config: config, image: names.first?.description)
            for name in names { try store.setName(name, manifest: manifestDigest) }
            return (manifestDigest, configDigest)
        }
    }

    /// docker's `config.OnBuild` (the triggers as written), which `ImageConfig` does not model,
    /// added to an encoded config.
    static func withOnBuild(_ bytes: [UInt8], _ triggers: [String]) throws -> [UInt8] {
        guard case .object(var members) = try JSONValue.parse(bytes) else { return bytes }
        let list = JSONValue.array(triggers.map { .string($0) })
        var inner: [(key: String, value: JSONValue)] = []
        if let index = members.firstIndex(where: { $0.key == "config" }) {
            if case .object(let existing) = members[index].value { inner = existing }
            members.remove(at: index)
        }
        inner.removeAll { $0.key == "OnBuild" }
        inner.append((key: "OnBuild", value: list))
        members.append((key: "config", value: .object(inner)))
        return JSONValue.object(members).serialized(sortedKeys: true)
    }

    /// The ONBUILD triggers an image's config carries (docker's `config.OnBuild`).
    public static func onBuildTriggers(of image: Image, in store: ImageStore) -> [String] {
        guard let bytes = try? store.content.read(image.id), let document = try? JSONValue.parse(bytes),
            case .array(let items)? = document["config"]?["OnBuild"]
        else { return [] }
        return items.compactMap { if case .string(let text) = $0 { return text } else { return nil } }
    }
}

import ImageStore
import JSON
import LinuxSupport
import OCISpec

/// What a build leaves in the image store: layer blobs from build steps' upper directories
/// and, at the end, the config, the manifest and the names. Layers are stored uncompressed
/// (`application/vnd.oci.image.layer.v1.tar`: the digest is the diff_id); the store unpacks
/// them into snapshots like any pulled layer, so the engine runs the result as it is.
public enum ImageOutput {
    /// The diff in `upper` as a layer blob, or nil when the step changed nothing.
    public static func storeLayer(upper: String, in store: ImageStore, what: String) throws -> Descriptor? {
        let writer = try BlobWriter(store: store.content, what: what)
        do {
            try LayerDiff.write(upper: upper) { try writer.write($0) }
        } catch {
            writer.abort()
            throw error
        }
        // An empty upper directory is a tar of only its end blocks.
        if try LayerDiff.names(inDirectory: upper).isEmpty {
            writer.abort()
            return nil
        }
        let size = writer.bytesWritten
        let digest = try writer.commit(expectedDigest: nil, expectedSize: nil)
        return Descriptor(mediaType: MediaType.ociLayer, digest: digest, size: size)
    }

    /// Stores `config` (whose diff_ids pair up with `layers`) as an image, unpacks
    /// its layers and points `names` at it. Returns the manifest and the image ID (config digest).
    public static func storeImage(
        config: ImageConfig, layers: [Descriptor], names: [ImageReference], in store: ImageStore, created: String = Timestamp.now()
    ) throws -> (manifest: Digest, id: Digest) {
        var config = config
        config.created = created
        let configBytes = try JSONEncoding.encode(config, sortedKeys: true)
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
}

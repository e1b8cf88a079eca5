import OCISpec

/// A resolved, locally stored image: its manifest, its config and the names pointing at it.
///
/// It exists as what the engine gets back from the store: everything needed to build a rootfs
/// (`layers`, `diffIDs`) and to fill a runtime spec (`config.config`: entrypoint, env, user).
public struct Image: Sendable {
    public let manifestDigest: Digest
    public let manifest: Manifest
    public let configDigest: Digest
    public let config: ImageConfig
    /// Canonical names that point at this manifest, sorted.
    public let names: [String]
    /// The index the image was selected from, when it came from one.
    public let indexDigest: Digest?

    /// The image ID docker shows: the config digest.
    public var id: Digest { configDigest }

    /// Total compressed size of the layers plus config, as `docker images` reports for pulled images.
    public var size: Int64 { manifest.layers.reduce(manifest.config.size) { $0 + $1.size } }
}

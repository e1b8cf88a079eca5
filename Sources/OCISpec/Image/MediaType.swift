/// The media types of the OCI image spec and of Docker's image manifest v2 schema 2.
///
/// It exists so that manifest kinds and layer compressions are decided in one place, and an
/// unknown media type is a clear error rather than a guess.
public enum MediaType {
    public static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    public static let ociIndex = "application/vnd.oci.image.index.v1+json"
    public static let ociConfig = "application/vnd.oci.image.config.v1+json"
    public static let ociLayer = "application/vnd.oci.image.layer.v1.tar"
    public static let ociLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip"
    public static let ociLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd"
    public static let ociLayerNondistributable = "application/vnd.oci.image.layer.nondistributable.v1.tar"
    public static let ociLayerNondistributableGzip = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
    public static let ociLayerNondistributableZstd = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"
    public static let ociEmpty = "application/vnd.oci.empty.v1+json"

    public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    public static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
    public static let dockerConfig = "application/vnd.docker.container.image.v1+json"
    public static let dockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip"
    public static let dockerLayerForeignGzip = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
    /// Docker's old schema 1, recognised only to reject it with a clear message.
    public static let dockerSchema1 = "application/vnd.docker.distribution.manifest.v1+json"
    public static let dockerSchema1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws"

    /// Manifest media types skiff accepts, in the Accept header order sent to registries.
    public static let acceptedManifests = [ociIndex, dockerManifestList, ociManifest, dockerManifest]

    public static func isIndex(_ type: String) -> Bool { type == ociIndex || type == dockerManifestList }
    public static func isManifest(_ type: String) -> Bool { type == ociManifest || type == dockerManifest }
    public static func isConfig(_ type: String) -> Bool { type == ociConfig || type == dockerConfig }

    /// The compression of a layer with media type `type`, or nil when it is not a layer type.
    public static func layerCompression(_ type: String) -> LayerCompression? {
        switch type {
        case ociLayer, ociLayerNondistributable, "application/vnd.docker.image.rootfs.diff.tar":
            return .uncompressed
        case ociLayerGzip, ociLayerNondistributableGzip, dockerLayerGzip, dockerLayerForeignGzip:
            return .gzip
        case ociLayerZstd, ociLayerNondistributableZstd:
            return .zstd
        default:
            return nil
        }
    }
}

/// How a layer blob is compressed.
public enum LayerCompression: String, Sendable, Codable {
    case uncompressed, gzip, zstd
}

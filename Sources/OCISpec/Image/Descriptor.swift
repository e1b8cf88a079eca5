/// A reference to content: its media type, digest and size (OCI image spec, descriptor.md).
///
/// It exists because every link between manifests, configs and layers is a descriptor, and the
/// digest and size in it are what skiff checks every downloaded byte against.
public struct Descriptor: Codable, Hashable, Sendable {
    public var mediaType: String
    public var digest: Digest
    public var size: Int64
    public var urls: [String]?
    public var annotations: [String: String]?
    public var platform: Platform?
    public var artifactType: String?

    public init(mediaType: String, digest: Digest, size: Int64, annotations: [String: String]? = nil, platform: Platform? = nil) {
        self.mediaType = mediaType
        self.digest = digest
        self.size = size
        self.annotations = annotations
        self.platform = platform
    }

    /// The `org.opencontainers.image.ref.name` annotation used by OCI layouts to name images.
    public static let refNameAnnotation = "org.opencontainers.image.ref.name"
}

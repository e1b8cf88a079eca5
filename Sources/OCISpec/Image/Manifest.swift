/// An image manifest: one config and an ordered list of layers (OCI manifest or Docker v2 schema 2).
///
/// It exists so that both formats, which share this shape, are read by one decoder; the media
/// type says which one it was, and validation rejects anything that is not an image.
public struct Manifest: Codable, Hashable, Sendable {
    public var schemaVersion: Int
    public var mediaType: String?
    public var artifactType: String?
    public var config: Descriptor
    public var layers: [Descriptor]
    public var subject: Descriptor?
    public var annotations: [String: String]?

    public init(mediaType: String = MediaType.ociManifest, config: Descriptor, layers: [Descriptor], annotations: [String: String]? = nil) {
        self.schemaVersion = 2
        self.mediaType = mediaType
        self.config = config
        self.layers = layers
        self.annotations = annotations
    }

    /// Checks that this is a runnable image: schema 2, a known config type, known layer types.
    public func validate() throws(ManifestError) {
        guard schemaVersion == 2 else { throw .unsupportedSchema(schemaVersion) }
        guard MediaType.isConfig(config.mediaType) else { throw .unknownMediaType(config.mediaType, role: "config") }
        for layer in layers where MediaType.layerCompression(layer.mediaType) == nil {
            throw .unknownMediaType(layer.mediaType, role: "layer")
        }
        for descriptor in [config] + layers where descriptor.size < 0 {
            throw .negativeSize(descriptor.digest)
        }
    }
}

/// An image index or Docker manifest list: one manifest per platform.
///
/// It exists to resolve multi-platform images to the one manifest that matches `--platform`.
public struct Index: Codable, Hashable, Sendable {
    public var schemaVersion: Int
    public var mediaType: String?
    public var artifactType: String?
    public var manifests: [Descriptor]
    public var subject: Descriptor?
    public var annotations: [String: String]?

    public init(mediaType: String = MediaType.ociIndex, manifests: [Descriptor], annotations: [String: String]? = nil) {
        self.schemaVersion = 2
        self.mediaType = mediaType
        self.manifests = manifests
        self.annotations = annotations
    }

    /// The first manifest for `platform`; entries without a platform never match.
    public func manifest(for platform: Platform) -> Descriptor? {
        manifests.first { entry in
            guard MediaType.isManifest(entry.mediaType), let candidate = entry.platform else { return false }
            return platform.matches(candidate)
        }
    }

    /// The platforms this index offers, for the "no match" error message.
    public var platforms: [Platform] { manifests.compactMap(\.platform) }
}

/// Why a manifest or index could not be used.
public enum ManifestError: Error, CustomStringConvertible, Sendable, Equatable {
    case unsupportedSchema(Int)
    case unknownMediaType(String, role: String)
    case negativeSize(Digest)
    case notJSON(String)

    public var description: String {
        switch self {
        case .unsupportedSchema(let version):
            return "unsupported manifest schema version \(version): only schema 2 (OCI and Docker v2) images are supported"
        case .unknownMediaType(let type, let role):
            return "unknown \(role) media type '\(type)': this is not a container image skiff can run"
        case .negativeSize(let digest):
            return "descriptor \(digest) has a negative size: the manifest is corrupt"
        case .notJSON(let detail):
            return "manifest is not valid JSON: \(detail)"
        }
    }
}

/// The kind of a manifest document, read from its `mediaType` field or guessed from its shape.
public enum ManifestKind: Sendable, Equatable {
    case manifest
    case index
}

/// Only the `mediaType` and shape keys, to classify a document before decoding it fully.
public struct ManifestProbe: Decodable, Sendable {
    public var schemaVersion: Int?
    public var mediaType: String?
    public var manifests: [Descriptor]?
    public var layers: [Descriptor]?
    public var config: Descriptor?

    /// The kind, trusting `fallbackType` (a Content-Type header) when the document has none.
    public func kind(fallbackType: String?) throws(ManifestError) -> ManifestKind {
        if schemaVersion == 1 { throw .unsupportedSchema(1) }
        let type = mediaType ?? fallbackType
        if let type, MediaType.isIndex(type) { return .index }
        if let type, MediaType.isManifest(type) { return .manifest }
        if manifests != nil { return .index }
        if config != nil, layers != nil { return .manifest }
        throw .unknownMediaType(type ?? "(none)", role: "manifest")
    }
}

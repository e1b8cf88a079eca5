import OCISpec

/// The `manifest.json` of a `docker save` archive: one entry per image.
struct DockerArchiveEntry: Codable {
    var Config: String
    var RepoTags: [String]?
    var Layers: [String]
}

/// Annotation containerd and docker use for the full image name in an OCI layout's index.
let containerdImageNameAnnotation = "io.containerd.image.name"

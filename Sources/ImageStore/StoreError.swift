import OCISpec

/// Everything that can go wrong inside the image store, each with what to do about it.
public enum StoreError: Error, CustomStringConvertible, Sendable {
    case digestMismatch(expected: Digest, actual: Digest, what: String)
    /// A layer blob that matched its own digest unpacked to other content than the config's
    /// diff_id: the blobs stay (verified, unnamed), no snapshot is made.
    case diffIDMismatch(layer: Digest, expected: Digest, actual: Digest, image: String?)
    case sizeMismatch(expected: Int64, actual: Int64, what: String)
    case blobMissing(Digest)
    case imageNotFound(String)
    case imageInUse(String, containers: [String])
    /// `rmi --force` of an image a running container uses: refused, as docker refuses it.
    case imageInUseByRunning(String, containers: [String])
    case ambiguousImage(String)
    case corruptMetadata(path: String, detail: String)
    case hostileLayer(layer: Digest, entry: String, reason: String)
    case badLayer(layer: Digest, detail: String)
    case system(String)
    case containerExists(String)
    case invalidName(String, reason: String)
    /// A layer declares more file data than `UnpackLimits.maxLayerBytes`.
    case layerTooLarge(layer: Digest, image: String?, declared: Int64, limit: Int64)
    /// Unpacking a layer would leave less than the reserve free on the store's filesystem.
    case noSpace(layer: Digest, image: String?, store: String, needed: Int64, available: Int64, reserve: Int64)

    public var description: String {
        switch self {
        case .digestMismatch(let expected, let actual, let what):
            return
                "\(what): content has digest \(actual) but \(expected) was expected: the source is corrupt or was tampered with; this content was not stored"
        case .diffIDMismatch(let layer, let expected, let actual, let image):
            return
                "layer \(layer)\(image.map { " of image \($0)" } ?? ""): its uncompressed content has diff_id \(actual) but the image config says \(expected): "
                + "the image is corrupt or was tampered with. Kept: the image's blobs that matched their digests (the layer blob among them), "
                + "with no name pointing at them; no layer snapshot was made. `skiff image prune` removes those blobs"
        case .sizeMismatch(let expected, let actual, let what):
            return
                "\(what): content is \(actual) bytes but the descriptor says \(expected): the source is corrupt; this content was not stored"
        case .blobMissing(let digest):
            return "blob \(digest) is missing from the store: pull the image again"
        case .imageNotFound(let name):
            return "image '\(name)' not found in the local store: pull or load it first (skiff images lists what is there)"
        case .imageInUse(let name, let containers):
            return "image '\(name)' is used by container(s) \(containers.joined(separator: ", ")): remove them first or use --force"
        case .imageInUseByRunning(let name, let containers):
            return "image '\(name)' is used by running container(s) \(containers.joined(separator: ", ")) and cannot be removed, "
                + "even with --force: stop and remove them first"
        case .ambiguousImage(let name):
            return "image ID prefix '\(name)' matches more than one image: give more characters"
        case .corruptMetadata(let path, let detail):
            return "store metadata \(path) is unreadable (\(detail)): remove it and pull the images again"
        case .hostileLayer(let layer, let entry, let reason):
            return "layer \(layer) rejected: entry '\(entry)' \(reason); the layer is hostile or corrupt and was not unpacked"
        case .badLayer(let layer, let detail):
            return "layer \(layer) could not be unpacked: \(detail)"
        case .system(let detail):
            return detail
        case .containerExists(let id):
            return "a root filesystem for container '\(id)' already exists: release it first"
        case .invalidName(let name, let reason):
            return "invalid name '\(name)': \(reason)"
        case .layerTooLarge(let layer, let image, let declared, let limit):
            return
                "layer \(layer)\(image.map { " of image \($0)" } ?? "") declares more than \(limit) bytes of files (\(declared) so far): "
                + "refused and nothing kept; if the image is genuine, raise the limit with SKIFF_MAX_LAYER_SIZE (e.g. 200g)"
        case .noSpace(let layer, let image, let store, let needed, let available, let reserve):
            return
                "layer \(layer)\(image.map { " of image \($0)" } ?? ""): the store \(store) has \(available) bytes free and the next file needs \(needed) "
                + "with \(reserve) kept in reserve: free space (skiff image prune, skiff system prune) or set SKIFF_STORE_RESERVE; nothing of the layer was kept"
        }
    }
}

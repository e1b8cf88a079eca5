import JSON
import LinuxSupport
import OCISpec

/// One named image in the store: which manifest a name points at.
public struct ImageRecord: Codable, Sendable, Equatable {
    /// The platform-specific image manifest.
    public var manifest: Digest
    /// The index or manifest list it was chosen from, when the name pointed at one.
    public var index: Digest?
    /// When the name was last set (RFC 3339), for `skiff images`.
    public var updated: String
    /// Where the image was pulled from, to offer cross-repository mounts on push.
    public var source: String?

    public init(manifest: Digest, index: Digest? = nil, updated: String, source: String? = nil) {
        self.manifest = manifest
        self.index = index
        self.updated = updated
        self.source = source
    }
}

/// The name index: canonical image names (`docker.io/library/busybox:latest`) to manifests,
/// in `<root>/images.json`.
///
/// It exists as the store's only mutable metadata; every change is a read-modify-write under
/// an exclusive `flock` and an atomic rename, so concurrent processes never lose each other's
/// updates and a crash leaves the old or the new file, never a torn one.
struct ImageIndex {
    let path: String
    let lockPath: String

    init(root: String) {
        path = root + "/images.json"
        lockPath = root + "/images.lock"
    }

    private struct File: Codable {
        var images: [String: ImageRecord]
    }

    func load() throws -> [String: ImageRecord] {
        guard FileIO.exists(path) else { return [:] }
        let bytes = try FileIO.read(path)
        do {
            return try JSONDecoding.decode(File.self, from: bytes).images
        } catch {
            throw StoreError.corruptMetadata(path: path, detail: JSONDecoding.describe(error))
        }
    }

    /// Applies `change` to the index under the exclusive index lock and saves the result.
    @discardableResult
    func update<T>(_ change: (inout [String: ImageRecord]) throws -> T) throws -> T {
        let lock = try FileLock(path: lockPath, exclusive: true)
        defer { lock.unlock() }
        var images = try load()
        let result = try change(&images)
        let data = try JSONEncoding.encode(File(images: images), pretty: true, sortedKeys: true)
        try FileIO.writeAtomically(path, data, mode: 0o600)
        return result
    }

}

import Foundation
import JSON
import LinuxSupport
import OCISpec

/// The local image store under `--root` (default /var/lib/skiff): blobs, the name index,
/// unpacked layer snapshots and container root filesystems.
///
/// It exists as the one library the CLI and the engine share for images. Layout:
/// `blobs/sha256/` (verified content), `ingest/` (downloads in progress), `snapshots/<diffID>/fs`
/// (unpacked layers), `containers/<id>/` (overlay upper, work and mount point), `images.json`
/// (names), `leases/` (manifests of pulls in progress), `lock-holders/` (who holds the lock).
/// Every operation holds `store.lock` shared; garbage collection holds it exclusively, and
/// whoever first gets it exclusively removes what killed processes left behind. Nothing holds it
/// across network waits: pulls download into ingest files without it (see `ImagePuller`).
public final class ImageStore: Sendable {
    public let root: String
    public let content: ContentStore
    public let snapshots: SnapshotStore
    let index: ImageIndex

    /// The default store location, as docker's /var/lib/docker.
    public static let defaultRoot = "/var/lib/skiff"

    public init(root: String) throws {
        guard root.hasPrefix("/") else {
            throw StoreError.invalidName(root, reason: "the store root must be an absolute path")
        }
        guard !root.contains(",") && !root.contains(":") else {
            throw StoreError.invalidName(root, reason: "the store root cannot contain ',' or ':' (overlayfs options use them)")
        }
        self.root = root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root
        content = ContentStore(root: self.root)
        snapshots = SnapshotStore(root: self.root)
        index = ImageIndex(root: self.root)
        try FileIO.makeDirectories(self.root, mode: 0o700)
    }

    var lockPath: String { root + "/store.lock" }
    var holdersDirectory: String { root + "/lock-holders" }
    var leasesDirectory: String { root + "/leases" }

    /// Runs `body` holding the store lock shared, first repairing the store if no one else uses it.
    /// There is no async form on purpose: nothing may hold the lock across a network wait.
    public func withSharedLock<T>(_ body: () throws -> T) throws -> T {
        let lock = try acquireShared()
        defer { lock.unlock() }
        return try body()
    }

    private func acquireShared() throws -> StoreLock {
        if let exclusive = try FileLock.tryLock(path: lockPath, exclusive: true) {
            removeLeftovers()
            exclusive.unlock()
            return try acquire(exclusive: false)
        }
        let lock = try acquire(exclusive: false)
        // Another process holds the store: what dead processes left is still ours to remove
        // (not when we just cleaned everything above: one listing less on every command).
        snapshots.removeLeftoversOfDeadProcesses()
        return lock
    }

    /// Runs `body` with the store to itself (garbage collection).
    func withExclusiveLock<T>(_ body: () throws -> T) throws -> T {
        let lock = try acquire(exclusive: true)
        defer { lock.unlock() }
        removeLeftovers()
        return try body()
    }

    /// Removes what killed processes left: ingest files, half-unpacked and half-removed snapshots
    /// (keeping trees a container still stacks), leases and lock-holder records of processes
    /// that are gone.
    func removeLeftovers() {
        content.removeIngestLeftovers()
        snapshots.removeLeftovers { Set(containerRecords().values.flatMap(\.layers).map(\.encoded)) }
        LiveRecord.removeStale(in: leasesDirectory)
        LiveRecord.removeStale(in: holdersDirectory)
    }

    // MARK: names

    /// Points `reference` at a stored manifest.
    public func setName(_ reference: ImageReference, manifest: Digest, index indexDigest: Digest? = nil, source: String? = nil) throws {
        try index.update { images in
            images[reference.description] = ImageRecord(manifest: manifest, index: indexDigest, updated: Timestamp.now(), source: source)
        }
    }

    /// Every name and what it points at.
    public func records() throws -> [String: ImageRecord] { try index.load() }

    /// Finds an image by name (`busybox`, `127.0.0.1:5000/app:1`), by `name@digest`, or by an
    /// image ID prefix (`sha256:abc...` or `abc...`, at least 4 characters).
    public func image(_ name: String, defaultRegistry: String = ImageReference.dockerHub) throws -> Image {
        let records = try index.load()
        if let reference = try? ImageReference(parsing: name, defaultRegistry: defaultRegistry) {
            if let record = records[reference.description] {
                return try load(manifest: record.manifest, records: records, indexDigest: record.index)
            }
            if let digest = reference.digest {
                // A pinned name not recorded as such: any record whose manifest or index matches.
                if let match = records.first(where: { $0.value.manifest == digest || $0.value.index == digest }) {
                    return try load(manifest: match.value.manifest, records: records, indexDigest: match.value.index)
                }
            }
        }
        let prefix = name.hasPrefix("sha256:") ? String(name.dropFirst(7)) : name
        if prefix.count >= 4, prefix.allSatisfy(\.isHexDigit) {
            var matches: [Digest: ImageRecord] = [:]
            for record in records.values {
                if let image = try? load(manifest: record.manifest, records: records, indexDigest: record.index),
                    image.configDigest.encoded.hasPrefix(prefix) || image.manifestDigest.encoded.hasPrefix(prefix)
                {
                    matches[record.manifest] = record
                }
            }
            if matches.count > 1 { throw StoreError.ambiguousImage(name) }
            if let match = matches.first {
                return try load(manifest: match.key, records: records, indexDigest: match.value.index)
            }
        }
        throw StoreError.imageNotFound(name)
    }

    /// All images, one per manifest, with their names.
    public func images() throws -> [Image] {
        let records = try index.load()
        var seen = Set<Digest>()
        var result: [Image] = []
        for record in records.values.sorted(by: { $0.updated > $1.updated }) where seen.insert(record.manifest).inserted {
            result.append(try load(manifest: record.manifest, records: records, indexDigest: record.index))
        }
        return result
    }

    func load(manifest digest: Digest, records: [String: ImageRecord], indexDigest: Digest?) throws -> Image {
        let manifest = try decode(Manifest.self, digest)
        let config = try decode(ImageConfig.self, manifest.config.digest)
        let names = records.filter { $0.value.manifest == digest }.map(\.key).sorted()
        return Image(
            manifestDigest: digest, manifest: manifest, configDigest: manifest.config.digest, config: config, names: names,
            indexDigest: indexDigest)
    }

    /// Decodes a stored JSON blob.
    public func decode<T: Decodable>(_ type: T.Type, _ digest: Digest) throws -> T {
        let bytes = try content.read(digest)
        do {
            return try JSONDecoding.decode(type, from: bytes)
        } catch {
            throw StoreError.corruptMetadata(path: content.path(for: digest), detail: JSONDecoding.describe(error))
        }
    }

    /// Adds `target` as another name for the image `source` names.
    public func tag(_ source: String, as target: ImageReference, defaultRegistry: String = ImageReference.dockerHub) throws {
        let image = try image(source, defaultRegistry: defaultRegistry)
        let sourceRecord = try records()[image.names.first ?? ""]
        try setName(target, manifest: image.manifestDigest, index: nil, source: sourceRecord?.source)
    }

    // MARK: layers

    /// Unpacks every layer of `image` that is not unpacked yet (blobs must be present); `image`
    /// names it in errors.
    public func unpack(manifest: Manifest, config: ImageConfig, image: String? = nil) throws {
        try Self.checkLayers(manifest: manifest, config: config)
        let limits = UnpackLimits.fromEnvironment
        for (layer, diffID) in zip(manifest.layers, config.rootfs.diffIDs) {
            try snapshots.ensure(
                diffID: diffID, layer: layer.digest, blobPath: content.path(for: layer.digest), limits: limits, image: image)
        }
    }

    /// Layers and diffIDs must pair up one to one.
    public static func checkLayers(manifest: Manifest, config: ImageConfig) throws {
        guard manifest.layers.count == config.rootfs.diffIDs.count else {
            throw StoreError.corruptMetadata(
                path: "manifest",
                detail: "the manifest lists \(manifest.layers.count) layers but the config has \(config.rootfs.diffIDs.count) diff_ids")
        }
    }
}

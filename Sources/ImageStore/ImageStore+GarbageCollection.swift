import Foundation
import JSON
import LinuxSupport
import OCISpec

/// What a garbage collection removed, for the command's report.
public struct PruneReport: Sendable {
    public var removedNames: [String] = []
    public var removedBlobs: [Digest] = []
    public var removedSnapshots: [Digest] = []
    /// Blob bytes plus the disk space of the removed snapshots' trees.
    public var reclaimedBytes: Int64 = 0
}

extension ImageStore {
    /// Removes the names and then everything nothing references any more. Refuses when a
    /// container uses the image, unless `force`; refuses even then when one of them is running
    /// (`isRunning`, by container ID: the engine knows, the store does not), as docker does.
    public func remove(
        _ names: [String], force: Bool = false, defaultRegistry: String = ImageReference.dockerHub,
        isRunning: (String) -> Bool = { _ in false }
    ) throws -> PruneReport {
        try withExclusiveLock {
            var removed: [String] = []
            let users = containerRecords()
            for name in names {
                let manifestDigest: Digest, imageNames: [String], toRemove: [String]
                do {
                    let image = try image(name, defaultRegistry: defaultRegistry)
                    let canonical = (try? ImageReference(parsing: name, defaultRegistry: defaultRegistry).description)
                    // A name removes that name; an ID removes every name of the image.
                    (manifestDigest, imageNames) = (image.manifestDigest, image.names)
                    toRemove = canonical.flatMap { image.names.contains($0) ? [$0] : nil } ?? image.names
                } catch let error as StoreError {
                    // A damaged image (manifest or config missing or unreadable) is removed by
                    // its name from the index alone: the record says which manifest it was.
                    switch error {
                    case .blobMissing, .corruptMetadata: break
                    default: throw error
                    }
                    let records = try index.load()
                    guard let target = damagedTarget(name, records: records, defaultRegistry: defaultRegistry) else { throw error }
                    manifestDigest = target.manifest
                    imageNames = records.filter { $0.value.manifest == target.manifest }.map(\.key)
                    toRemove = target.names
                }
                let remainingNames = imageNames.filter { !toRemove.contains($0) }
                if remainingNames.isEmpty {
                    let using = users.filter { $0.value.image == manifestDigest }.map(\.key).sorted()
                    let running = using.filter(isRunning)
                    if !running.isEmpty { throw StoreError.imageInUseByRunning(name, containers: running) }
                    if !using.isEmpty && !force { throw StoreError.imageInUse(name, containers: using) }
                }
                try index.update { images in
                    for key in toRemove { images.removeValue(forKey: key) }
                }
                removed += toRemove
            }
            var report = try collectGarbage()
            report.removedNames = removed
            return report
        }
    }

    /// `image prune`: removes unreferenced content; with `all`, also every image no container uses.
    public func prune(all: Bool) throws -> PruneReport {
        try withExclusiveLock {
            var removed: [String] = []
            if all {
                let used = Set(containerRecords().values.map(\.image))
                try index.update { images in
                    for (name, record) in images where !used.contains(record.manifest) {
                        images.removeValue(forKey: name)
                        removed.append(name)
                    }
                }
            }
            var report = try collectGarbage()
            report.removedNames = removed.sorted()
            return report
        }
    }

    /// Mark and sweep: names -> (index) -> manifests -> config and layers -> snapshots; plus the
    /// snapshots containers use. Called with the store lock held exclusively.
    func collectGarbage() throws -> PruneReport {
        var liveBlobs = Set<Digest>()
        var liveSnapshots = Set<Digest>()
        for record in try index.load().values {
            if let indexDigest = record.index { liveBlobs.insert(indexDigest) }
            liveBlobs.insert(record.manifest)
            guard let manifest = try? decode(Manifest.self, record.manifest) else { continue }
            liveBlobs.insert(manifest.config.digest)
            for layer in manifest.layers { liveBlobs.insert(layer.digest) }
            if let config = try? decode(ImageConfig.self, manifest.config.digest) {
                liveSnapshots.formUnion(config.rootfs.diffIDs)
            }
        }
        // Index blobs may list other platforms' manifests that were never pulled: they are not kept alive.
        for record in containerRecords().values { liveSnapshots.formUnion(record.layers) }
        // Pulls in progress: what their manifests name, though no name points at them yet.
        for manifest in leasedManifests() {
            liveBlobs.insert(manifest.config.digest)
            for layer in manifest.layers { liveBlobs.insert(layer.digest) }
            if let config = try? decode(ImageConfig.self, manifest.config.digest) {
                liveSnapshots.formUnion(config.rootfs.diffIDs)
            }
        }
        var report = PruneReport()
        for digest in content.allDigests() where !liveBlobs.contains(digest) {
            var st = stat()
            if lstat(content.path(for: digest), &st) == 0 { report.reclaimedBytes += Int64(st.st_size) }
            content.remove(digest)
            report.removedBlobs.append(digest)
        }
        for diffID in snapshots.all() where !liveSnapshots.contains(diffID) {
            report.reclaimedBytes += DiskUsage.bytes(under: snapshots.path(for: diffID))
            try snapshots.remove(diffID)
            report.removedSnapshots.append(diffID)
        }
        removeOrphanedGuestDisks()
        return report
    }
}

/// Keeps the content a pull in progress needs from garbage collection until it names the image:
/// the config, the layers and (once the config is stored) the layers' snapshots of one manifest.
///
/// It exists because a pull holds the store lock only for moments (to commit a blob, unpack a
/// layer, set the name), and an `rmi` or `image prune` in between would otherwise collect what
/// it committed so far, or a layer it found already present. The lease is a `LiveRecord` in
/// `leases/` holding the manifest: it lasts as long as the pulling process, whatever kills it.
public final class ContentLease: Sendable {
    private let record: LiveRecord

    init(record: LiveRecord) { self.record = record }

    /// Ends the lease; what it kept is collectable again unless a name now references it.
    public func release() { record.release() }
}

extension ImageStore {
    /// Leases what `manifest` (its exact bytes) references. Call with the store lock held, so a
    /// collection never reads the lease half written.
    public func lease(manifest bytes: [UInt8]) throws -> ContentLease {
        ContentLease(record: try LiveRecord(directory: leasesDirectory, contents: bytes))
    }

    /// The manifests of live leases.
    func leasedManifests() -> [Manifest] {
        LiveRecord.live(in: leasesDirectory).compactMap { try? JSONDecoding.decode(Manifest.self, from: $0) }
    }
}

import Foundation
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
    /// container uses the image, unless `force`.
    public func remove(_ names: [String], force: Bool = false, defaultRegistry: String = ImageReference.dockerHub) throws -> PruneReport {
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
                if remainingNames.isEmpty && !force {
                    let using = users.filter { $0.value.image == manifestDigest }.map(\.key).sorted()
                    if !using.isEmpty { throw StoreError.imageInUse(name, containers: using) }
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
        return report
    }
}

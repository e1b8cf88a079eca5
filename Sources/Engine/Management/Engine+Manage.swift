#if canImport(Glibc)
import Glibc
#endif
import ContainerRuntime
import ImageStore
import LinuxSupport
import Networking

/// `rename`, `container prune` and `system df`: changes and accounting over the whole store.
extension Engine {
    /// Gives a container a new name (running or not), refusing a taken or invalid one.
    public func rename(_ reference: String, to newName: String) throws {
        try ContainerStore.validate(name: newName)
        try store.locked {
            let record = try store.resolve(reference)
            if record.name == newName { return }
            if let owner = store.all().first(where: { $0.name == newName }) {
                throw EngineError.nameInUse(name: newName, id: owner.id)
            }
            var renamed = record
            renamed.name = newName
            try store.save(renamed)
            recordEvent(renamed, "rename", extra: ["oldName": "/" + record.name])
            // On a user network the others resolve the new name from now on, not the old one.
            for network in record.network?.allNetworks ?? [] where NetworkPeers.resolvesNames(network.name) {
                try NetworkPeers(store: networks).update(network: network.name, containerID: record.id) {
                    $0.name = newName
                    $0.names = Self.peerNames(renamed, aliases: network.aliases)
                }
            }
        }
    }

    public struct PruneResult: Sendable {
        public var removed: [String] = []
        public var reclaimedBytes: Int64 = 0
    }

    /// Removes every container that is not running (and matches `keep`'s complement), and what
    /// a create killed half way left behind.
    public func pruneContainers(matching filter: (EngineContainer) -> Bool = { _ in true }) throws -> PruneResult {
        var result = PruneResult()
        result.removed += try removeUnrecordedDirectories()
        finishPendingTeardowns()
        for record in store.all() where !liveStatus(record).isRunning && filter(record) {
            let size = DiskUsage.bytes(under: store.directory(for: record.id) + "/upper")
            do {
                try remove(record.id, force: false)
                result.removed.append(record.id)
                result.reclaimedBytes += size
            } catch EngineError.wrongState {
                continue  // started meanwhile
            }
        }
        return result
    }

    /// One row of `system df`.
    public struct DiskUsageRow: Sendable, Equatable {
        public var type: String
        public var total: Int
        public var active: Int
        public var size: Int64
        public var reclaimable: Int64
    }

    /// Space used by images (unpacked layers, shared ones counted once), containers (their
    /// writable layers) and volumes, and how much removing unused ones would free.
    public func diskUsage() throws -> [DiskUsageRow] {
        let records = store.all()
        let images = try self.images.imagesReportingDamage().images
        let usedImages = Set(records.map(\.imageID))
        var layerSizes: [String: Int64] = [:]
        var usedLayers: Set<String> = []
        for image in images {
            for diffID in image.config.rootfs.diffIDs {
                let key = diffID.description
                if layerSizes[key] == nil { layerSizes[key] = DiskUsage.bytes(under: self.images.snapshots.path(for: diffID)) }
                if usedImages.contains(image.id.description) { usedLayers.insert(key) }
            }
        }
        let imageSize = layerSizes.values.reduce(0, +)
        let imageReclaimable = layerSizes.filter { !usedLayers.contains($0.key) }.values.reduce(0, +)

        var containerSize: Int64 = 0, containerReclaimable: Int64 = 0, running = 0
        for record in records {
            let size = DiskUsage.bytes(under: store.directory(for: record.id) + "/upper")
            containerSize += size
            if liveStatus(record).isRunning { running += 1 } else { containerReclaimable += size }
        }

        let users = volumeUsers()
        var volumeSize: Int64 = 0, volumeReclaimable: Int64 = 0, volumesActive = 0
        let allVolumes = volumes.all()
        for volume in allVolumes {
            let size = volumes.size(of: volume.name)
            volumeSize += size
            if (users[volume.name] ?? []).isEmpty { volumeReclaimable += size } else { volumesActive += 1 }
        }
        return [
            DiskUsageRow(
                type: "Images", total: images.count, active: images.filter { usedImages.contains($0.id.description) }.count,
                size: imageSize, reclaimable: imageReclaimable),
            DiskUsageRow(type: "Containers", total: records.count, active: running, size: containerSize, reclaimable: containerReclaimable),
            DiskUsageRow(
                type: "Local Volumes", total: allVolumes.count, active: volumesActive, size: volumeSize, reclaimable: volumeReclaimable),
        ]
    }

    /// Container directories without a record whose creator is dead (a `create` killed after
    /// it mounted the root filesystem): the lock's cleanup removes them (`ContainerStore.locked`);
    /// prune reports which.
    func removeUnrecordedDirectories() throws -> [String] {
        try store.lockedAfterCleanup { removed in removed }
    }
}

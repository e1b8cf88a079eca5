import LinuxSupport

/// `system df -v`: docker's per-image, per-container and per-volume space, measured as the
/// summary `diskUsage` measures it (unpacked layer snapshots, containers' upper directories,
/// volumes' data).
public struct DiskUsageDetail: Sendable {
    public struct ImageRow: Sendable, Equatable {
        public var names: [String]
        public var id: String
        public var created: String?
        /// Every layer of the image.
        public var size: Int64
        /// Its layers that another image has too.
        public var sharedSize: Int64
        public var uniqueSize: Int64 { size - sharedSize }
        /// Containers made from it.
        public var containers: Int
    }

    public struct ContainerRow: Sendable {
        public var listing: ContainerListing
        /// Volumes it mounts (named and anonymous).
        public var localVolumes: Int
        /// Its writable layer.
        public var size: Int64
    }

    public struct VolumeRow: Sendable, Equatable {
        public var name: String
        /// Containers that use it.
        public var links: Int
        public var size: Int64
    }

    public var images: [ImageRow]
    public var containers: [ContainerRow]
    public var volumes: [VolumeRow]
}

extension Engine {
    public func diskUsageDetail(now: Double) throws -> DiskUsageDetail {
        let records = store.all()
        let allImages = try images.imagesReportingDamage().images
        var layerSizes: [String: Int64] = [:]
        var layerUsers: [String: Int] = [:]
        for image in allImages {
            for diffID in Set(image.config.rootfs.diffIDs.map(\.description)) {
                layerUsers[diffID, default: 0] += 1
            }
            for diffID in image.config.rootfs.diffIDs where layerSizes[diffID.description] == nil {
                layerSizes[diffID.description] = DiskUsage.bytes(under: images.snapshots.path(for: diffID))
            }
        }
        let imageRows = allImages.map { image in
            let layers = Set(image.config.rootfs.diffIDs.map(\.description))
            return DiskUsageDetail.ImageRow(
                names: image.names, id: image.id.description, created: image.config.created,
                size: layers.reduce(0) { $0 + (layerSizes[$1] ?? 0) },
                sharedSize: layers.filter { (layerUsers[$0] ?? 0) > 1 }.reduce(0) { $0 + (layerSizes[$1] ?? 0) },
                containers: records.filter { $0.imageID == image.id.description }.count)
        }
        let containerRows = listContainers(all: true, now: now).map { listing in
            DiskUsageDetail.ContainerRow(
                listing: listing, localVolumes: listing.record.volumes?.count ?? 0,
                size: DiskUsage.bytes(under: store.directory(for: listing.record.id) + "/upper"))
        }
        let users = volumeUsers()
        let volumeRows = volumes.all().map {
            DiskUsageDetail.VolumeRow(name: $0.name, links: users[$0.name]?.count ?? 0, size: volumes.size(of: $0.name))
        }
        return DiskUsageDetail(images: imageRows, containers: containerRows, volumes: volumeRows)
    }
}

#if canImport(Glibc)
import Glibc
#endif
import Foundation
import JSON
import LinuxSupport
import OCISpec

/// An image name whose manifest or config cannot be read: listings skip it and say so.
public struct DamagedImage: Sendable, Equatable {
    /// The canonical name (`docker.io/library/busybox:latest`).
    public var name: String
    public var manifest: Digest
    /// What is wrong ("blob sha256:... missing").
    public var problem: String

    /// The name as users type it (`busybox:latest`, `127.0.0.1:5000/app:1`).
    public var familiar: String { (try? ImageReference(parsing: name).familiar) ?? name }

    public var explanation: String {
        "image \(familiar) is damaged: \(problem); `skiff rmi -f \(familiar)` removes it"
    }

    /// The short problem text of a load error.
    static func problem(of error: any Error) -> String {
        switch error {
        case StoreError.blobMissing(let digest): return "blob \(digest) missing"
        case StoreError.corruptMetadata(let path, let detail): return "\(path) unreadable (\(detail))"
        default: return "\(error)"
        }
    }
}

extension ImageStore {
    /// `images()` that skips names whose manifest or config is missing or unreadable and
    /// returns them apart, so one damaged image does not hide the others.
    public func imagesReportingDamage() throws -> (images: [Image], damaged: [DamagedImage]) {
        let records = try index.load()
        var seen: [Digest: Bool] = [:]
        var images: [Image] = []
        var damaged: [DamagedImage] = []
        for record in records.values.sorted(by: { $0.updated > $1.updated }) where seen[record.manifest] == nil {
            do {
                images.append(try load(manifest: record.manifest, records: records, indexDigest: record.index))
                seen[record.manifest] = true
            } catch {
                seen[record.manifest] = false
                for name in records.filter({ $0.value.manifest == record.manifest }).keys.sorted() {
                    damaged.append(DamagedImage(name: name, manifest: record.manifest, problem: DamagedImage.problem(of: error)))
                }
            }
        }
        return (images, damaged)
    }

    /// The names `name` stands for and their manifest when the image cannot be loaded: a name
    /// of the index, or a prefix of the manifest digest (the image ID needs the config, which
    /// may be what is missing). nil when `name` names nothing recorded.
    func damagedTarget(_ name: String, records: [String: ImageRecord], defaultRegistry: String) -> (manifest: Digest, names: [String])? {
        if let reference = try? ImageReference(parsing: name, defaultRegistry: defaultRegistry), let record = records[reference.description]
        {
            return (record.manifest, [reference.description])
        }
        let prefix = name.hasPrefix("sha256:") ? String(name.dropFirst(7)) : name
        guard prefix.count >= 4, prefix.allSatisfy(\.isHexDigit) else { return nil }
        let manifests = Set(records.values.map(\.manifest).filter { $0.encoded.hasPrefix(prefix) })
        guard manifests.count == 1, let manifest = manifests.first else { return nil }
        return (manifest, records.filter { $0.value.manifest == manifest }.map(\.key).sorted())
    }
}

/// One thing `skiff system check` found wrong.
public struct CheckProblem: Sendable, Equatable {
    public enum Area: String, Sendable {
        case blob, ingest, snapshot, index, image, container
    }
    public var area: Area
    /// The digest, name or ID concerned.
    public var subject: String
    public var problem: String
    /// What `--repair` does about it, or what the user must do (when `repairable` is false).
    public var remedy: String
    public var repairable: Bool
    public var repaired = false

    public init(area: Area, subject: String, problem: String, remedy: String, repairable: Bool) {
        (self.area, self.subject, self.problem, self.remedy, self.repairable) = (area, subject, problem, remedy, repairable)
    }

    public var description: String {
        "\(area.rawValue) \(subject): \(problem); \(repaired ? "repaired: " : repairable ? "--repair: " : "")\(remedy)"
    }
}

/// What `check` looked at and found.
public struct StoreCheckReport: Sendable {
    public var blobs = 0
    public var snapshots = 0
    public var images = 0
    public var containers = 0
    public var problems: [CheckProblem] = []

    public init() {}

    public var unrepaired: [CheckProblem] { problems.filter { !$0.repaired } }
}

extension ImageStore {
    /// Verifies every blob (digest and size, streamed), every snapshot (marker; incomplete,
    /// half-unpacked and half-removed ones), and every image name (manifest, config, layer blobs
    /// and complete snapshots). With `repair` (the store lock held exclusively) it removes
    /// corrupt blobs, leftovers no container stacks, and names of damaged images, and unpacks
    /// again a missing snapshot whose blob is intact. Without it only the shared lock is held
    /// and nothing changes (not even the leftovers the lock's first taker would remove).
    public func check(repair: Bool) throws -> StoreCheckReport {
        try FileIO.makeDirectories(root, mode: 0o700)
        let lock = try FileLock(path: lockPath, exclusive: repair)
        defer { lock.unlock() }
        var report = StoreCheckReport()
        let corrupt = checkBlobs(repair: repair, into: &report)
        checkIngest(repair: repair, into: &report)
        checkSnapshots(repair: repair, into: &report)
        try checkImages(repair: repair, corrupt: corrupt, into: &report)
        return report
    }

    /// Streams each blob through SHA-256; returns the digests whose content is wrong.
    private func checkBlobs(repair: Bool, into report: inout StoreCheckReport) -> Set<Digest> {
        var corrupt = Set<Digest>()
        for digest in content.allDigests() {
            report.blobs += 1
            let path = content.path(for: digest)
            let actual: Digest
            do { actual = try Self.streamDigest(path) } catch {
                var problem = CheckProblem(
                    area: .blob, subject: digest.description, problem: "unreadable (\(error))", remedy: "removed", repairable: true)
                if repair {
                    content.remove(digest)
                    problem.repaired = true
                }
                report.problems.append(problem)
                corrupt.insert(digest)
                continue
            }
            guard actual != digest else { continue }
            var problem = CheckProblem(
                area: .blob, subject: digest.description, problem: "content has digest \(actual)",
                remedy: "removed (images that need it are reported below)", repairable: true)
            if repair {
                content.remove(digest)
                problem.repaired = true
            }
            report.problems.append(problem)
            corrupt.insert(digest)
        }
        return corrupt
    }

    static func streamDigest(_ path: String) throws -> Digest {
        let fd = try sysCall("open \(path)") { open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) }
        defer { close(fd) }
        let hasher = SHA256Hasher()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = try buffer.withUnsafeMutableBytes { raw in try sysCall("read \(path)") { read(fd, raw.baseAddress, raw.count) } }
            if n == 0 { return hasher.finalize() }
            buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
    }

    /// Files of interrupted downloads (`ingest/<pid>-*` of a dead process).
    private func checkIngest(repair: Bool, into report: inout StoreCheckReport) {
        let left = ((try? FileIO.listDirectory(content.ingestDirectory)) ?? []).filter { name in
            guard let pid = Int32(name.prefix { $0 != "-" }) else { return true }
            return repair || ProcStat.read(pid: pid) == nil
        }
        guard !left.isEmpty else { return }
        var problem = CheckProblem(
            area: .ingest, subject: content.ingestDirectory, problem: "\(left.count) file(s) of interrupted downloads",
            remedy: "removed", repairable: true)
        if repair {
            content.removeIngestLeftovers()
            problem.repaired = true
        }
        report.problems.append(problem)
    }

    private func checkSnapshots(repair: Bool, into report: inout StoreCheckReport) {
        let directory = snapshots.directory
        let inUse = Set(containerRecords().values.flatMap(\.layers).map(\.encoded))
        var found: [(name: String, problem: CheckProblem)] = []
        for name in (try? FileIO.listDirectory(directory)) ?? [] {
            if let digest = try? Digest(sha256Hex: name) {
                report.snapshots += 1
                if snapshots.has(digest) {
                    if !FileIO.isDirectory(snapshots.path(for: digest)) {
                        found.append(
                            (
                                name,
                                CheckProblem(
                                    area: .snapshot, subject: digest.description, problem: "marked complete but its tree is missing",
                                    remedy: "`skiff rmi -f` the images that use it and load or pull them again", repairable: false)
                            ))
                    }
                    continue
                }
                let used = inUse.contains(name)
                found.append(
                    (
                        name,
                        CheckProblem(
                            area: .snapshot, subject: digest.description, problem: "incomplete (no `committed` marker)",
                            remedy: used ? "kept while a container stacks it (remove the container first)" : "removed",
                            repairable: !used)
                    ))
            } else if name.hasPrefix(".trash-") {
                let used = inUse.contains(String(name.dropFirst(7).prefix { $0 != "-" }))
                found.append(
                    (
                        name,
                        CheckProblem(
                            area: .snapshot, subject: name, problem: "half-removed snapshot",
                            remedy: used ? "kept while a container stacks it (remove the container first)" : "removed",
                            repairable: !used)
                    ))
            } else if name.hasPrefix(".tmp-"), repair || !ProcessLease.isAlive(name: name, prefix: ".tmp") {
                found.append(
                    (
                        name,
                        CheckProblem(
                            area: .snapshot, subject: name, problem: "half-unpacked layer of a killed process",
                            remedy: "removed", repairable: true)
                    ))
            }
        }
        if repair && found.contains(where: \.problem.repairable) {
            snapshots.removeLeftovers { inUse }
        }
        for (name, var problem) in found {
            if repair && problem.repairable && !FileIO.exists(directory + "/" + name) { problem.repaired = true }
            report.problems.append(problem)
        }
    }

    private func checkImages(repair: Bool, corrupt: Set<Digest>, into report: inout StoreCheckReport) throws {
        let records: [String: ImageRecord]
        do { records = try index.load() } catch {
            report.problems.append(
                CheckProblem(
                    area: .index, subject: index.path, problem: "unreadable (\(error))",
                    remedy: "move it away and pull or load the images again", repairable: false))
            return
        }
        for (name, record) in records.sorted(by: { $0.key < $1.key }) {
            report.images += 1
            let familiar = (try? ImageReference(parsing: name).familiar) ?? name
            var damage: String?
            var missingSnapshots: [(Digest, Digest)] = []
            func blobProblem(_ digest: Digest, _ what: String, size: Int64?) -> String? {
                if corrupt.contains(digest) { return "\(what) blob \(digest) is corrupt" }
                if !content.has(digest) { return "\(what) blob \(digest) missing" }
                if let size, !content.has(digest, size: size) {
                    return "\(what) blob \(digest) has another size than the \(size) bytes its descriptor says"
                }
                return nil
            }
            if let problem = blobProblem(record.manifest, "manifest", size: nil) {
                damage = problem
            } else if let manifest = try? decode(Manifest.self, record.manifest) {
                if let problem = blobProblem(manifest.config.digest, "config", size: manifest.config.size) {
                    damage = problem
                } else if let config = try? decode(ImageConfig.self, manifest.config.digest) {
                    if manifest.layers.count != config.rootfs.diffIDs.count {
                        damage =
                            "the manifest lists \(manifest.layers.count) layers but the config has \(config.rootfs.diffIDs.count) diff_ids"
                    } else {
                        for (layer, diffID) in zip(manifest.layers, config.rootfs.diffIDs) {
                            if let problem = blobProblem(layer.digest, "layer", size: layer.size) {
                                damage = problem
                                break
                            }
                            if !snapshots.has(diffID) { missingSnapshots.append((layer.digest, diffID)) }
                        }
                    }
                } else {
                    damage = "config blob \(manifest.config.digest) is not an image config"
                }
            } else {
                damage = "manifest blob \(record.manifest) is not an image manifest"
            }
            if let damage {
                var problem = CheckProblem(
                    area: .image, subject: familiar, problem: "damaged: \(damage)",
                    remedy: "name removed (`skiff image prune` then frees its blobs; pull or load it again)", repairable: true)
                if repair {
                    try index.update { $0.removeValue(forKey: name) }
                    problem.repaired = true
                }
                report.problems.append(problem)
            } else if !missingSnapshots.isEmpty {
                var problem = CheckProblem(
                    area: .image, subject: familiar,
                    problem: "layer snapshot(s) \(missingSnapshots.map(\.1.description).joined(separator: ", ")) missing or incomplete",
                    remedy: "unpacked again from the layer blobs", repairable: true)
                if repair {
                    do {
                        for (layer, diffID) in missingSnapshots {
                            try snapshots.ensure(diffID: diffID, layer: layer, blobPath: content.path(for: layer), image: familiar)
                        }
                        problem.repaired = true
                    } catch {
                        problem.remedy = "unpacking again failed (\(error)): `skiff rmi -f \(familiar)` and pull or load it again"
                    }
                }
                report.problems.append(problem)
            }
        }
    }

    /// What is wrong with the root filesystem of container `id` (its `rootfs.json`, the
    /// snapshots it stacks, the overlay mount), or nil when nothing is.
    public func checkContainerRootfs(id: String) -> String? {
        let directory = "\(containersDirectory)/\(id)"
        guard let bytes = try? FileIO.read(directory + "/rootfs.json"),
            let record = try? JSONDecoding.decode(ContainerRootfsRecord.self, from: bytes)
        else {
            return "rootfs.json is missing or unreadable"
        }
        let missing = record.layers.filter { !FileIO.isDirectory(snapshots.path(for: $0)) }
        if !missing.isEmpty { return "layer snapshot(s) \(missing.map(\.description).joined(separator: ", ")) it stacks are gone" }
        if !Mounts.isMountPoint(directory + "/merged") { return "its root filesystem is not mounted" }
        return nil
    }
}

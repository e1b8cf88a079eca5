import Foundation
import CShim
import JSON
import LinuxSupport
import OCISpec

/// What a container's root filesystem is made of, kept in `containers/<id>/rootfs.json` so
/// garbage collection never removes a snapshot a container still uses.
struct ContainerRootfsRecord: Codable {
    var image: Digest
    var layers: [Digest]
}

extension ImageStore {
    var containersDirectory: String { root + "/containers" }

    /// Assembles a writable root filesystem for `containerID` from `image`'s snapshots with
    /// overlayfs (the layers read-only below, `upper` and `work` on top) and returns the mount
    /// point. The image's layers must be unpacked (`pull` and `load` do it).
    ///
    /// With `shift` (a container in a user namespace whose ids 0..<size are host ids
    /// hostID..<hostID+size), each layer is stacked through an idmapped bind mount that shows
    /// the snapshot's files owned by the shifted ids (`lower/N`), and the upper layer's root
    /// belongs to the shifted root: the container's root owns its files without a chown of the
    /// image, and the snapshots stay shared with every other container.
    ///
    /// `durable: false` (a `--rm` container) skips syncing its record to disk.
    public func prepareRootfs(
        image: Image, containerID: String, shift: (hostID: UInt32, size: UInt32)? = nil,
        durable: Bool = true
    ) throws -> String {
        guard !containerID.isEmpty,
            containerID.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") }),
            !containerID.hasPrefix(".")
        else {
            throw StoreError.invalidName(containerID, reason: "container IDs are letters, digits, '-', '_' and '.'")
        }
        return try withSharedLock {
            let directory = "\(containersDirectory)/\(containerID)"
            if FileIO.exists(directory) { throw StoreError.containerExists(containerID) }
            try ImageStore.checkLayers(manifest: image.manifest, config: image.config)
            for diffID in image.config.rootfs.diffIDs where !snapshots.has(diffID) {
                throw StoreError.system(
                    "layer \(diffID) of image \(image.names.first ?? image.id.description) is not unpacked: pull the image again")
            }
            try makeContainerDirectory(directory, id: containerID)
            do {
                for sub in ["upper", "work", "merged", "empty"] {
                    try FileIO.makeDirectories("\(directory)/\(sub)", mode: 0o755)
                }
                let record = ContainerRootfsRecord(image: image.manifestDigest, layers: image.config.rootfs.diffIDs)
                try FileIO.writeAtomically("\(directory)/rootfs.json", try JSONEncoding.encode(record), mode: 0o600, durable: durable)
                var lowers = image.config.rootfs.diffIDs.reversed().map { snapshots.path(for: $0) }
                if lowers.isEmpty { lowers = ["\(directory)/empty"] }
                if let shift {
                    lowers = try shiftedLayers(lowers, directory: directory, hostID: shift.hostID, size: shift.size)
                    for sub in ["upper", "work"] {
                        try sysCall("chown \(directory)/\(sub) to the container's root") {
                            chown("\(directory)/\(sub)", shift.hostID, shift.hostID)
                        }
                    }
                }
                let options = "lowerdir=\(lowers.joined(separator: ":")),upperdir=\(directory)/upper,workdir=\(directory)/work"
                guard options.utf8.count < 4000 else {
                    throw StoreError.system("image has too many layers (\(lowers.count)) for one overlay mount: use a shorter --root")
                }
                try sysCall("mount overlay on \(directory)/merged") { skiff_mount_overlay("\(directory)/merged", options) }
                return "\(directory)/merged"
            } catch {
                unmountShiftedLayers(directory: directory)
                FileIO.removeTree(directory)
                throw error
            }
        }
    }

    /// The file in a container directory that names the process creating it (a `ProcessLease`
    /// name with the prefix `creator`). The directory gets it before its name (it is made as
    /// `.new-<lease>` and renamed), so a directory without `container.json` always tells whether
    /// its creator still runs: the engine removes it only once that process is gone.
    public static let creatorFile = "creator"

    /// The process that made (or is making) the container directory `directory`; nil when the
    /// file is missing or unreadable.
    public static func creator(ofContainerDirectory directory: String) -> ProcessLease? {
        guard let text = try? FileIO.readString(directory + "/" + creatorFile) else { return nil }
        return ProcessLease.parse(name: text.trimmingCharacters(in: .whitespacesAndNewlines), prefix: "creator")
    }

    /// Makes `directory` with the creator lease already inside; `containerExists` if it exists.
    private func makeContainerDirectory(_ directory: String, id: String) throws {
        try FileIO.makeDirectories(containersDirectory, mode: 0o700)
        let staging = "\(containersDirectory)/\(ProcessLease.current.name(prefix: ".new"))"
        try FileIO.makeDirectories(staging, mode: 0o755)
        do {
            try FileIO.write(
                staging + "/" + Self.creatorFile, Array((ProcessLease.current.name(prefix: "creator") + "\n").utf8), mode: 0o600)
            if rename(staging, directory) != 0 {
                let code = errno
                if code == EEXIST || code == ENOTEMPTY { throw StoreError.containerExists(id) }
                throw SystemError("rename \(staging) to \(directory)", errno: code)
            }
        } catch {
            FileIO.removeTree(staging)
            throw error
        }
    }

    /// Idmapped bind mounts of `layers` at `directory/lower/0...`, through a user namespace that
    /// carries only the mapping 0 -> hostID (size ids).
    private func shiftedLayers(_ layers: [String], directory: String, hostID: UInt32, size: UInt32) throws -> [String] {
        let map = "0 \(hostID) \(size)\n"
        let userns = skiff_userns_fd(map, map)
        guard userns >= 0 else { throw SystemError("make a user namespace for the idmapped layers of \(directory)") }
        defer { close(userns) }
        var mounted: [String] = []
        for (index, layer) in layers.enumerated() {
            let target = "\(directory)/lower/\(index)"
            try FileIO.makeDirectories(target, mode: 0o755)
            let fd = open(target, skiff_o_path() | O_DIRECTORY | O_CLOEXEC)
            guard fd >= 0 else { throw SystemError("open \(target)") }
            let step = skiff_idmapped_bind(layer, fd, userns, 0)
            let failure = errno
            close(fd)
            guard step == 0 else {
                let call = ["", "open_tree", "mount_setattr", "move_mount"][Int(min(max(step, 0), 3))]
                throw SystemError(
                    "idmapped mount of layer \(layer) (\(call); the filesystem under --root must support idmapped mounts)", errno: failure)
            }
            mounted.append(target)
        }
        return mounted
    }

    /// Detaches the idmapped layer mounts of a container made with a shift (none otherwise).
    func unmountShiftedLayers(directory: String) {
        for entry in (try? FileIO.listDirectory("\(directory)/lower")) ?? [] {
            _ = skiff_umount_detach("\(directory)/lower/\(entry)")
        }
    }

    /// Unmounts and removes the root filesystem of `containerID`; nothing happens if there is none.
    /// Unmounts a container's root filesystem and leaves its directory (`release` removes that);
    /// best effort, for a teardown that removes the directory later.
    public func unmountRootfs(containerID: String) {
        guard !containerID.isEmpty, !containerID.contains("/"), containerID != ".", containerID != ".." else { return }
        _ = skiff_umount_detach("\(containersDirectory)/\(containerID)/merged")
        unmountShiftedLayers(directory: "\(containersDirectory)/\(containerID)")
    }

    public func release(containerID: String) throws {
        let directory = "\(containersDirectory)/\(containerID)"
        guard !containerID.isEmpty, !containerID.contains("/"), containerID != ".", containerID != "..",
            FileIO.exists(directory)
        else { return }
        if skiff_umount_detach("\(directory)/merged") != 0 && errno != EINVAL && errno != ENOENT {
            throw SystemError("unmount \(directory)/merged")
        }
        unmountShiftedLayers(directory: directory)
        FileIO.removeTree(directory)
    }

    /// The records of every container root filesystem.
    func containerRecords() -> [String: ContainerRootfsRecord] {
        var result: [String: ContainerRootfsRecord] = [:]
        for id in (try? FileIO.listDirectory(containersDirectory)) ?? [] {
            if let bytes = try? FileIO.read("\(containersDirectory)/\(id)/rootfs.json"),
                let record = try? JSONDecoding.decode(ContainerRootfsRecord.self, from: bytes)
            {
                result[id] = record
            }
        }
        return result
    }
}

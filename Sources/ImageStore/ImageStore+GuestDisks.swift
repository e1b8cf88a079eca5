#if canImport(Glibc)
import Glibc
#endif
import LinuxSupport
import OCISpec

/// The image's layers as read-only disks for containers in micro-VMs: one erofs image per layer,
/// made once from the layer's snapshot (whiteouts and opaque directories are already in the
/// overlay form the guest's overlayfs reads) and shared by every VM container of every image
/// that has the layer. They live in `vm-disks/<diffID hex>.erofs` and go with their snapshot
/// when garbage collection removes it.
extension ImageStore {
    var guestDisksDirectory: String { root + "/vm-disks" }

    public func guestDiskPath(for diffID: Digest) -> String { "\(guestDisksDirectory)/\(diffID.encoded).erofs" }

    /// The disks of the layers of container `containerID`'s rootfs, lowest first, made where
    /// missing (mkfs.erofs, Debian's erofs-utils). The container's rootfs record keeps the layers
    /// alive even when its image was removed. A made disk is written under a temporary name and
    /// renamed, so a killed build leaves no disk that looks complete.
    public func guestDisks(containerID: String) throws -> [String] {
        try withSharedLock {
            guard let record = containerRecords()[containerID] else {
                throw StoreError.system("container \(containerID) has no root filesystem record in the image store")
            }
            try FileIO.makeDirectories(guestDisksDirectory, mode: 0o700)
            return try record.layers.map { diffID in
                let disk = guestDiskPath(for: diffID)
                if FileIO.exists(disk) { return disk }
                guard snapshots.has(diffID) else {
                    throw StoreError.system("layer \(diffID) of container \(containerID) is not unpacked: pull its image again")
                }
                let temporary = "\(guestDisksDirectory)/.tmp-\(getpid())-\(diffID.encoded).erofs"
                defer { unlink(temporary) }
                let tool = (["/usr/bin/mkfs.erofs", "/sbin/mkfs.erofs", "/usr/sbin/mkfs.erofs"] as [String]).first { access($0, X_OK) == 0 }
                guard let tool else {
                    throw StoreError.system("making the disk of layer \(diffID) for a micro-VM needs mkfs.erofs: install erofs-utils")
                }
                let result = try Subprocess.run(
                    path: tool, args: [tool, "--quiet", "-x1", temporary, snapshots.path(for: diffID)],
                    env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], captureOutput: true, captureStderr: true)
                guard result.status == 0 else {
                    throw StoreError.system(
                        "mkfs.erofs for layer \(diffID) failed (\(result.status)): \(String(decoding: result.output, as: UTF8.self))")
                }
                try Durability.syncFile(temporary)
                try sysCall("rename \(temporary) to \(disk)") { rename(temporary, disk) }
                return disk
            }
        }
    }

    /// Removes the disks whose layer snapshot is gone (garbage collection, `rmi`, `image prune`).
    func removeOrphanedGuestDisks() {
        for name in (try? FileIO.listDirectory(guestDisksDirectory)) ?? [] {
            let path = "\(guestDisksDirectory)/\(name)"
            if name.hasPrefix(".tmp-") {
                // A build by a process that is gone (or still running: its rename then fails and it reports).
                if let pid = Int32(name.dropFirst(5).prefix(while: { $0 != "-" })), !Processes.exists(pid) { unlink(path) }
                continue
            }
            guard name.hasSuffix(".erofs"), let diffID = try? Digest(sha256Hex: String(name.dropLast(6))) else { continue }
            if !snapshots.has(diffID) { unlink(path) }
        }
    }
}

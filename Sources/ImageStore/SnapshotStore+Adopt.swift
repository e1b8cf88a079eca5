#if canImport(Glibc)
import Glibc
#endif
import LinuxSupport
import OCISpec

extension SnapshotStore {
    /// Takes `tree`, the directory a layer blob was just written from, as that layer's snapshot
    /// by renaming it into place, instead of unpacking the blob into a copy of it and deleting
    /// the original (a build step's upper directory: thousands of files made twice and unlinked
    /// once, which on a synced ext4 costs a millisecond per file). The tree must be on the
    /// store's filesystem and in snapshot form (whiteouts as 0/0 character devices, opaque
    /// directories marked with the overlay xattr), as an overlayfs upper directory is; the same
    /// durability steps as `ensure` follow (syncfs, the marker, the name, the parent).
    /// Returns true when the tree was consumed (it is the snapshot now, or it was discarded for
    /// one another process committed first); false leaves it untouched (the snapshot existed
    /// already, or the tree is on another filesystem: unpack the blob then).
    public func adopt(tree: String, diffID: Digest) throws -> Bool {
        if has(diffID) { return false }
        try FileIO.makeDirectories(directory, mode: 0o700)
        let temporary = "\(directory)/\(ProcessLease.current.name(prefix: ".tmp"))"
        InterruptCleanup.register(temporary)
        defer { InterruptCleanup.unregister(temporary) }
        try FileIO.makeDirectories(temporary, mode: 0o755)
        if rename(tree, temporary + "/fs") != 0 {
            let code = errno
            rmdir(temporary)
            if code == EXDEV { return false }
            throw SystemError("move \(tree) into the snapshot store", errno: code)
        }
        do {
            // A layer's root is 0755 as an unpacked one is (scratch directories are made 0700).
            _ = chmod(temporary + "/fs", 0o755)
            try Durability.syncFilesystem(of: temporary + "/fs")
            try FileIO.write(temporary + "/" + Self.marker, Array((diffID.description + "\n").utf8), mode: 0o600)
            try Durability.syncFile(temporary + "/" + Self.marker)
            let final = "\(directory)/\(diffID.encoded)"
            if rename(temporary, final) != 0 {
                let code = errno
                FileIO.removeTree(temporary)
                if (code == EEXIST || code == ENOTEMPTY) && has(diffID) { return true }
                throw SystemError("rename snapshot to \(final)", errno: code)
            }
            try Durability.syncDirectory(directory)
            return true
        } catch {
            FileIO.removeTree(temporary)
            throw error
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
import LinuxSupport
import OCISpec

/// Unpacked layers under `<root>/snapshots/<diffID hex>/fs`, one directory per distinct layer,
/// shared by every image that contains it.
///
/// It exists so each layer is unpacked once and the snapshot name is only ever given to a
/// complete, verified tree: unpacking happens in a `.tmp-*` directory that is renamed into place
/// after the uncompressed stream matched its diffID. A killed unpack leaves only a `.tmp-*`
/// directory, which the next cleanup removes; two processes racing on one layer both finish and
/// the loser discards its copy.
public struct SnapshotStore: Sendable {
    public let root: String

    public init(root: String) { self.root = root }

    var directory: String { root + "/snapshots" }

    /// The layer tree of the snapshot for `diffID` (whether or not it exists yet).
    public func path(for diffID: Digest) -> String { "\(directory)/\(diffID.encoded)/fs" }

    public func has(_ diffID: Digest) -> Bool { FileIO.isDirectory(path(for: diffID)) }

    /// Unpacks `blobPath` unless the snapshot already exists; verifies the diffID.
    public func ensure(diffID: Digest, layer: Digest, blobPath: String) throws {
        if has(diffID) { return }
        try FileIO.makeDirectories(directory, mode: 0o700)
        var random = SystemRandomNumberGenerator()
        let temporary = "\(directory)/.tmp-\(getpid())-\(String(random.next(), radix: 36))"
        try FileIO.makeDirectories(temporary + "/fs", mode: 0o755)
        do {
            let actual = try LayerUnpacker(layer: layer).unpack(blobPath: blobPath, into: temporary + "/fs")
            guard actual == diffID else {
                throw StoreError.digestMismatch(expected: diffID, actual: actual, what: "uncompressed layer \(layer)")
            }
            let final = "\(directory)/\(diffID.encoded)"
            if rename(temporary, final) != 0 {
                let code = errno
                FileIO.removeTree(temporary)
                // Another process finished the same layer first: its copy is as good as ours.
                if (code == EEXIST || code == ENOTEMPTY) && has(diffID) { return }
                throw SystemError("rename snapshot to \(final)", errno: code)
            }
        } catch {
            FileIO.removeTree(temporary)
            throw error
        }
    }

    /// The diffIDs of every complete snapshot.
    public func all() -> [Digest] {
        ((try? FileIO.listDirectory(directory)) ?? []).compactMap { try? Digest(sha256Hex: $0) }
    }

    func remove(_ diffID: Digest) {
        FileIO.removeTree("\(directory)/\(diffID.encoded)")
    }

    /// Removes half-made snapshots; only called while holding the store lock exclusively.
    func removeLeftovers() {
        for name in (try? FileIO.listDirectory(directory)) ?? [] where name.hasPrefix(".tmp-") {
            FileIO.removeTree("\(directory)/\(name)")
        }
    }
}

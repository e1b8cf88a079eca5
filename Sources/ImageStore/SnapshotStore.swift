#if canImport(Glibc)
import Glibc
#endif
import LinuxSupport
import OCISpec

/// Unpacked layers under `<root>/snapshots/<diffID hex>/fs`, one directory per distinct layer,
/// shared by every image that contains it.
///
/// It exists so each layer is unpacked once and a snapshot is trusted only when complete:
/// - unpacking happens in a `.tmp-<pid>-<start time>-*` directory; after the uncompressed stream
///   matched its diffID, the tree is synced to disk (syncfs, once per layer), the marker
///   `committed` is written and synced inside it, and the directory is renamed into place and the
///   parent synced. `has` believes only a snapshot whose marker is there;
/// - removal first renames the snapshot to `.trash-*` (atomic: its name is gone at once), then
///   deletes the tree, so a removal killed half way never leaves a half-deleted tree under the
///   snapshot's name;
/// - what a killed process left (`.tmp-*` of a dead process, `.trash-*`, a directory without its
///   marker) is removed by the next cleanup, except trees a container still stacks. Two processes racing on one layer both finish and the
///   loser discards its copy.
public struct SnapshotStore: Sendable {
    public let root: String

    public init(root: String) { self.root = root }

    var directory: String { root + "/snapshots" }

    /// The file whose presence says a snapshot is complete.
    static let marker = "committed"

    /// The layer tree of the snapshot for `diffID` (whether or not it exists yet).
    public func path(for diffID: Digest) -> String { "\(directory)/\(diffID.encoded)/fs" }

    func markerPath(for diffID: Digest) -> String { "\(directory)/\(diffID.encoded)/\(Self.marker)" }

    /// Whether the snapshot for `diffID` is complete (its marker exists).
    public func has(_ diffID: Digest) -> Bool { FileIO.exists(markerPath(for: diffID)) }

    /// Unpacks `blobPath` unless the snapshot already exists; verifies the diffID. `limits`
    /// bounds what the layer may write; `what` names the image in errors.
    public func ensure(
        diffID: Digest, layer: Digest, blobPath: String, limits: UnpackLimits = .fromEnvironment,
        image: String? = nil
    ) throws {
        if has(diffID) { return }
        try FileIO.makeDirectories(directory, mode: 0o700)
        let temporary = "\(directory)/\(ProcessLease.current.name(prefix: ".tmp"))"
        InterruptCleanup.register(temporary)
        defer { InterruptCleanup.unregister(temporary) }
        try FileIO.makeDirectories(temporary + "/fs", mode: 0o755)
        do {
            var unpacker = LayerUnpacker(layer: layer)
            unpacker.limits = limits
            unpacker.image = image
            let actual = try unpacker.unpack(blobPath: blobPath, into: temporary + "/fs")
            guard actual == diffID else {
                throw StoreError.diffIDMismatch(layer: layer, expected: diffID, actual: actual, image: image)
            }
            // The files first, then the marker that vouches for them, then the name.
            try Durability.syncFilesystem(of: temporary + "/fs")
            FaultInjection.point("snapshot-unpacked")
            try FileIO.write(temporary + "/" + Self.marker, Array((diffID.description + "\n").utf8), mode: 0o600)
            try Durability.syncFile(temporary + "/" + Self.marker)
            let final = "\(directory)/\(diffID.encoded)"
            if FileIO.exists(final) && !has(diffID) {
                // An incomplete snapshot under the final name (left by an older skiff): out of the
                // way; the next cleanup deletes it once no container uses it.
                try moveToTrash(diffID.encoded)
            }
            if rename(temporary, final) != 0 {
                let code = errno
                FileIO.removeTree(temporary)
                // Another process finished the same layer first: its copy is as good as ours.
                if (code == EEXIST || code == ENOTEMPTY) && has(diffID) { return }
                throw SystemError("rename snapshot to \(final)", errno: code)
            }
            try Durability.syncDirectory(directory)
        } catch let error as SystemError {
            FileIO.removeTree(temporary)
            // "write big.bin: No space left on device" alone names neither image, layer nor store.
            throw StoreError.badLayer(layer: layer, detail: "\(image.map { "image \($0), " } ?? "")store \(root): \(error.description)")
        } catch {
            FileIO.removeTree(temporary)
            throw error
        }
    }

    /// The diffIDs of every complete snapshot.
    public func all() -> [Digest] {
        ((try? FileIO.listDirectory(directory)) ?? []).compactMap { try? Digest(sha256Hex: $0) }.filter(has)
    }

    /// The snapshot directories under a layer's name that are not complete (no marker).
    public func incomplete() -> [String] {
        ((try? FileIO.listDirectory(directory)) ?? []).filter { name in
            guard let digest = try? Digest(sha256Hex: name) else { return false }
            return !has(digest)
        }
    }

    /// Takes the snapshot's name away first (one rename), then deletes the tree.
    func remove(_ diffID: Digest) throws {
        let path = "\(directory)/\(diffID.encoded)"
        guard FileIO.exists(path) else { return }
        let trash = try moveToTrash(diffID.encoded)
        FaultInjection.point("snapshot-trashed")
        FileIO.removeTree(trash)
    }

    /// Renames `snapshots/<hex>` to `.trash-<hex>-<lease>` and returns the new path.
    @discardableResult
    private func moveToTrash(_ hex: String) throws -> String {
        let trash = "\(directory)/\(ProcessLease.current.name(prefix: ".trash-" + hex))"
        try sysCall("move snapshot \(hex) out of the store's names") { rename("\(directory)/\(hex)", trash) }
        return trash
    }

    /// Removes what dead processes left: their `.tmp-*` unpacks. Safe under the shared lock: a
    /// temporary directory belongs to the process whose lease is in its name.
    func removeLeftoversOfDeadProcesses() {
        for name in (try? FileIO.listDirectory(directory)) ?? [] where name.hasPrefix(".tmp-") {
            if !ProcessLease.isAlive(name: name, prefix: ".tmp") { FileIO.removeTree("\(directory)/\(name)") }
        }
    }

    /// Removes every half-made or half-removed snapshot, incomplete ones under a layer's name
    /// included, except trees of the layers `inUse` names (asked only when there is trash: a
    /// container made by an older skiff may still stack one; renamed it keeps working, deleted it
    /// would not). Only called while holding the store lock exclusively.
    func removeLeftovers(inUse: () -> Set<String>) {
        let names = (try? FileIO.listDirectory(directory)) ?? []
        for name in names where name.hasPrefix(".tmp-") {
            FileIO.removeTree("\(directory)/\(name)")
        }
        var trash = names.filter { $0.hasPrefix(".trash-") }
        for name in names {
            guard let digest = try? Digest(sha256Hex: name), !has(digest), let moved = try? moveToTrash(name) else { continue }
            trash.append(String(moved.split(separator: "/").last ?? ""))
        }
        guard !trash.isEmpty else { return }
        let keeping = inUse()
        for name in trash where !keeping.contains(String(name.dropFirst(7).prefix { $0 != "-" })) {
            FileIO.removeTree("\(directory)/\(name)")
        }
    }
}

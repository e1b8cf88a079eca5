import Foundation
import Testing
import CShim
import LinuxSupport
import OCISpec
@testable import ImageStore

/// Snapshots are trusted only with their completion marker, removed by renaming away first, and
/// bounded in what they may unpack to.
@Suite(.enabled(if: isRoot, "unpacking keeps ownership, which needs root"))
struct SnapshotDurabilityTests {
    /// A layer of `files` small files, stored as a blob; returns (blob digest, diffID).
    func storeLayer(_ store: ImageStore, in tmp: TemporaryDirectory, files: Int = 50, big: Int = 0) throws -> (Digest, Digest) {
        let tar = try TarBuilder(path: tmp.path + "/layer.tar", compression: .none)
        _ = tar.dir("data")
        for index in 0..<files { _ = tar.file("data/f\(index)", "file \(index)\n") }
        if big > 0 { _ = tar.add("data/big", content: [UInt8](repeating: 0, count: big)) }
        tar.finish()
        let bytes = try FileIO.read(tmp.path + "/layer.tar")
        let digest = try store.content.write(bytes)
        return (digest, digest)  // uncompressed: the blob is its own diffID
    }

    @Test func aSnapshotWithoutItsMarkerIsNotTrustedAndIsUnpackedAgain() throws {
        let tmp = try TemporaryDirectory()
        let store = try ImageStore(root: tmp.path + "/store")
        let (blob, diffID) = try storeLayer(store, in: tmp)
        try store.snapshots.ensure(diffID: diffID, layer: blob, blobPath: store.content.path(for: blob))
        #expect(store.snapshots.has(diffID))
        // What a removal killed half way by an older skiff left: part of the tree, no marker.
        let tree = store.snapshots.path(for: diffID)
        for index in 0..<25 { unlink("\(tree)/data/f\(index)") }
        unlink(store.snapshots.markerPath(for: diffID))
        #expect(!store.snapshots.has(diffID))
        #expect(!store.snapshots.all().contains(diffID))
        try store.snapshots.ensure(diffID: diffID, layer: blob, blobPath: store.content.path(for: blob))
        #expect(store.snapshots.has(diffID))
        #expect(try FileIO.listDirectory(tree + "/data").count == 50)
    }

    /// A layer that does not unpack to its diff_id: the error says the blob was kept (it is) and
    /// no snapshot was made (none is, not even a temporary tree).
    @Test func aDiffIDMismatchKeepsTheBlobAndMakesNoSnapshot() throws {
        let tmp = try TemporaryDirectory()
        let store = try ImageStore(root: tmp.path + "/store")
        let (blob, _) = try storeLayer(store, in: tmp)
        let claimed = try Digest(sha256Hex: String(repeating: "e", count: 64))
        do {
            try store.snapshots.ensure(diffID: claimed, layer: blob, blobPath: store.content.path(for: blob), image: "foo:1")
            Issue.record("a layer that does not match its diff_id was accepted")
        } catch let error as StoreError {
            guard case .diffIDMismatch(let layer, let expected, let actual, let image) = error else {
                Issue.record("\(error)")
                return
            }
            #expect(layer == blob && expected == claimed && actual == blob && image == "foo:1")
            #expect(error.description.contains("Kept:") && !error.description.contains("nothing was stored"))
        }
        #expect(store.content.has(blob))
        #expect(!store.snapshots.has(claimed))
        #expect(try FileIO.listDirectory(tmp.path + "/store/snapshots").isEmpty)
    }

    @Test func removalTakesTheNameFirstAndCleanupFinishesIt() throws {
        let tmp = try TemporaryDirectory()
        let store = try ImageStore(root: tmp.path + "/store")
        let (blob, diffID) = try storeLayer(store, in: tmp)
        try store.snapshots.ensure(diffID: diffID, layer: blob, blobPath: store.content.path(for: blob))
        try store.snapshots.remove(diffID)
        #expect(!store.snapshots.has(diffID) && !FileIO.exists(store.root + "/snapshots/" + diffID.encoded))
        // A leftover trash directory (a removal killed after the rename) goes with the next cleanup,
        // an incomplete snapshot under a layer's name too, unless a container still stacks it.
        try FileIO.makeDirectories(store.root + "/snapshots/.trash-\(diffID.encoded)-1-1-x/fs/data")
        let other = try Digest(sha256Hex: String(repeating: "a", count: 64))
        try FileIO.makeDirectories(store.snapshots.path(for: other) + "/data")
        store.removeLeftovers()
        #expect(try FileIO.listDirectory(store.root + "/snapshots").isEmpty)
    }

    @Test func aDeadProcessesUnpackIsRemovedEvenWhileTheStoreIsShared() throws {
        let tmp = try TemporaryDirectory()
        let store = try ImageStore(root: tmp.path + "/store")
        try FileIO.makeDirectories(store.root + "/snapshots/.tmp-999999-12345-abc/fs")
        let mine = ProcessLease.current.name(prefix: ".tmp")
        try FileIO.makeDirectories(store.root + "/snapshots/" + mine + "/fs")
        store.snapshots.removeLeftoversOfDeadProcesses()
        #expect(try FileIO.listDirectory(store.root + "/snapshots") == [mine])
    }

    @Test func aLayerAboveTheCeilingIsRefusedAndNothingIsKept() throws {
        let tmp = try TemporaryDirectory()
        let store = try ImageStore(root: tmp.path + "/store")
        let (blob, diffID) = try storeLayer(store, in: tmp, files: 2, big: 4 << 20)
        let limits = UnpackLimits(maxLayerBytes: 1 << 20, reserveBytes: 0)
        #expect {
            try store.snapshots.ensure(
                diffID: diffID, layer: blob, blobPath: store.content.path(for: blob), limits: limits, image: "bomb:1")
        } throws: { error in
            guard case StoreError.layerTooLarge(_, let image, _, let limit) = error else { return false }
            return image == "bomb:1" && limit == 1 << 20 && "\(error)".contains("SKIFF_MAX_LAYER_SIZE")
        }
        #expect(!store.snapshots.has(diffID))
        #expect(try FileIO.listDirectory(store.root + "/snapshots").isEmpty)
    }

    @Test func aLayerThatWouldEatTheReserveIsRefused() throws {
        let tmp = try TemporaryDirectory()
        let store = try ImageStore(root: tmp.path + "/store")
        let (blob, diffID) = try storeLayer(store, in: tmp, files: 2, big: 40 << 20)
        var fs = statvfs()
        statvfs(tmp.path, &fs)
        let free = Int64(fs.f_bavail) * Int64(fs.f_frsize)
        // Leave exactly 20 MiB usable: the 40 MiB file must not be written.
        let limits = UnpackLimits(maxLayerBytes: 1 << 40, reserveBytes: free - (20 << 20))
        #expect {
            try store.snapshots.ensure(diffID: diffID, layer: blob, blobPath: store.content.path(for: blob), limits: limits, image: "big:1")
        } throws: { error in
            guard case StoreError.noSpace(_, let image, _, let needed, _, _) = error else { return false }
            return image == "big:1" && needed == 40 << 20
        }
        #expect(try FileIO.listDirectory(store.root + "/snapshots").isEmpty)
    }
}

import Foundation
import Testing
import OCISpec
@testable import ImageStore

/// What keeps a pull in progress safe from a collection it does not lock out: its ingest files,
/// its lease, and the records of who holds the store lock. No root needed.
@Suite struct LeaseAndIngestTests {
    func names(_ path: String) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }

    @Test func aRunningWritersIngestFileSurvivesACollection() throws {
        let tmp = try TemporaryDirectory()
        let store = try ImageStore(root: tmp.path + "/root")
        let writer = try BlobWriter(store: store.content, what: "test blob")
        defer { writer.abort() }
        let bytes = Array("half a layer".utf8)
        try bytes.withUnsafeBytes { try writer.write($0) }
        let ingest = tmp.path + "/root/ingest"
        let mine = try #require(names(ingest).first)
        // A killed writer's file (this pid, another start time) and one from an older skiff.
        let dead = "ingest-\(getpid())-1-abc"
        try "partial".write(toFile: ingest + "/" + dead, atomically: false, encoding: .utf8)
        try "partial".write(toFile: ingest + "/123-xyz", atomically: false, encoding: .utf8)
        _ = try store.prune(all: false)
        #expect(names(ingest) == [mine], "only the running writer's file stays")
        let digest = try writer.commit(expectedDigest: SHA256Hasher.digest(bytes), expectedSize: Int64(bytes.count))
        #expect(store.content.has(digest))
    }

    @Test func aLeaseKeepsWhatItsManifestNamesUntilReleased() throws {
        let tmp = try TemporaryDirectory()
        let store = try ImageStore(root: tmp.path + "/root")
        let layer = try store.content.write(Array("layer bytes".utf8))
        let config = ImageConfig(architecture: "amd64", os: "linux", rootfs: RootFS(diffIDs: [SHA256Hasher.digest(Array("plain".utf8))]))
        let configBytes = Array(try JSONEncoder().encode(config))
        let configDigest = try store.content.write(configBytes)
        let stray = try store.content.write(Array("nothing names me".utf8))
        let manifest = Manifest(
            config: Descriptor(mediaType: MediaType.ociConfig, digest: configDigest, size: Int64(configBytes.count)),
            layers: [Descriptor(mediaType: MediaType.ociLayerGzip, digest: layer, size: 11)])
        let lease = try store.withSharedLock { try store.lease(manifest: Array(try JSONEncoder().encode(manifest))) }
        let report = try store.prune(all: false)
        #expect(report.removedBlobs == [stray])
        #expect(store.content.has(layer) && store.content.has(configDigest))
        lease.release()
        #expect(names(tmp.path + "/root/leases").isEmpty)
        _ = try store.prune(all: false)
        #expect(store.content.allDigests().isEmpty)
    }

    @Test func recordsOfDeadWritersAreNotLiveAndGoWithTheNextCleanup() throws {
        let tmp = try TemporaryDirectory()
        let directory = tmp.path + "/records"
        let record = try LiveRecord(directory: directory, contents: Array("12 shared pull".utf8))
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try "1 exclusive rmi".write(toFile: directory + "/record-\(getpid())-1-dead", atomically: false, encoding: .utf8)
        try "junk".write(toFile: directory + "/not-a-record", atomically: false, encoding: .utf8)
        #expect(LiveRecord.live(in: directory) == [Array("12 shared pull".utf8)])
        LiveRecord.removeStale(in: directory)
        #expect(names(directory) == [String(record.path.split(separator: "/").last ?? "")])
        record.release()
        #expect(names(directory).isEmpty)
    }

    @Test func theLockWaitMessageNamesTheHoldersThatBlock() throws {
        let pull = try #require(LockHolder(record: Array("4242 shared pull".utf8)))
        let prune = try #require(LockHolder(record: Array("77 exclusive image prune".utf8)))
        #expect(LockHolder(record: Array("x shared pull".utf8)) == nil && LockHolder(record: Array("12 sideways".utf8)) == nil)
        #expect(LockHolder(record: []) == nil)
        #expect(
            LockHolder.waitingMessage([pull], exclusive: true)
                == "waiting for another skiff process (pid 4242, pull) to release the store...")
        // A shared waiter is kept out only by an exclusive holder.
        #expect(
            LockHolder.waitingMessage([pull, prune], exclusive: false)
                == "waiting for another skiff process (pid 77, image prune) to release the store...")
        #expect(LockHolder.waitingMessage([], exclusive: true) == "waiting for another skiff process to release the store...")
        // This process's own record is not another process.
        let tmp = try TemporaryDirectory()
        let store = try ImageStore(root: tmp.path + "/root")
        #expect(try store.withSharedLock { store.lockHolders() }.isEmpty)
        #expect(names(tmp.path + "/root/lock-holders").isEmpty, "released with the lock")
    }
}

import Foundation
import Testing

/// kill -9 of store commands at named points (SKIFF_TEST_KILL_AT), each followed by what a user
/// runs next: nothing may be shown as complete that is not, and everything left must go.
@Suite(.enabled(if: engineTestsEnabled, skipReason))
struct StoreCrashTests {
    func killedAt(_ point: String, _ fixture: EngineFixture, _ command: String, _ arguments: [String]) throws -> CommandResult {
        try run([skiffBinary, command, "--root", fixture.root] + arguments, check: false, environment: ["SKIFF_TEST_KILL_AT": point])
    }

    func snapshotNames(_ fixture: EngineFixture) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: fixture.root + "/snapshots")) ?? []
    }

    func binListing(_ fixture: EngineFixture) throws -> CommandResult {
        try fixture.skiff("run", ["--rm", "--network", "none", fixture.image, "ls", "/bin"])
    }

    @Test func rmiKilledAfterTheSnapshotLostItsNameLeavesNothingThatLies() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let before = try binListing(fixture)
        try #require(before.status == 0, "\(before)")
        let killed = try killedAt("snapshot-trashed", fixture, "rmi", [fixture.image])
        #expect(killed.status == SIGKILL, "\(killed)")
        #expect(snapshotNames(fixture).contains { $0.hasPrefix(".trash-") }, "\(snapshotNames(fixture))")
        let images = try fixture.image(["images"], [])
        #expect(images.status == 0 && !images.stdout.contains("loaded"), "\(images)")
        // Loading again unpacks the layer again: the trashed tree never counts.
        try run([skiffBinary, "load", "--root", fixture.root, "-i", try busyboxArchive.get()])
        let after = try binListing(fixture)
        #expect(after.status == 0 && after.stdout == before.stdout, "\(after)")
        #expect(!snapshotNames(fixture).contains { $0.hasPrefix(".trash-") || $0.hasPrefix(".tmp-") }, "\(snapshotNames(fixture))")
    }

    @Test func loadKilledBeforeTheMarkerLeavesNoImageAndNoTemporaryTree() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        try #require(try fixture.image(["rmi"], [fixture.image]).status == 0)
        let killed = try killedAt("snapshot-unpacked", fixture, "load", ["-i", try busyboxArchive.get()])
        #expect(killed.status == SIGKILL, "\(killed)")
        let images = try fixture.image(["images"], [])
        #expect(images.status == 0 && !images.stdout.contains("loaded"), "\(images)")
        // The dead loader's temporary tree went with that command.
        #expect(!snapshotNames(fixture).contains { $0.hasPrefix(".tmp-") }, "\(snapshotNames(fixture))")
        try run([skiffBinary, "load", "--root", fixture.root, "-i", try busyboxArchive.get()])
        #expect(try binListing(fixture).status == 0)
    }

    /// What an older skiff's killed rmi left: a snapshot half deleted in place. It has no marker,
    /// so the next load unpacks it again instead of trusting it (the defect: containers saw 34,000
    /// of a layer's 50,000 files).
    @Test func aHalfDeletedSnapshotIsNeverTrusted() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let before = try binListing(fixture)
        let layer = try #require(snapshotNames(fixture).first { !$0.hasPrefix(".") })
        let bin = fixture.root + "/snapshots/" + layer + "/fs/bin"
        for name in (try FileManager.default.contentsOfDirectory(atPath: bin)).prefix(5) { unlink(bin + "/" + name) }
        unlink(fixture.root + "/snapshots/" + layer + "/committed")
        let refused = try binListing(fixture)
        #expect(refused.status != 0 && refused.stderr.contains("not unpacked"), "\(refused)")
        try run([skiffBinary, "load", "--root", fixture.root, "-i", try busyboxArchive.get()])
        let after = try binListing(fixture)
        #expect(after.status == 0 && after.stdout == before.stdout, "\(after)")
    }

    /// Blobs and records are synced before they get their names (strace counts the fsyncs).
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/strace"), "strace is not installed"))
    func loadSyncsWhatItNames() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        try #require(try fixture.image(["rmi"], [fixture.image]).status == 0)
        let traced = try run(
            [
                "/usr/bin/strace", "-f", "-qq", "-e", "trace=fsync,syncfs", "-o", fixture.path + "/trace",
                skiffBinary, "load", "--root", fixture.root, "-i", try busyboxArchive.get(),
            ], check: false)
        #expect(traced.status == 0, "\(traced)")
        let trace = (try? String(contentsOfFile: fixture.path + "/trace", encoding: .utf8)) ?? ""
        let fsyncs = trace.split(separator: "\n").filter { $0.contains("fsync(") }.count
        let syncfs = trace.split(separator: "\n").filter { $0.contains("syncfs(") }.count
        // 3 blobs (layer, config, manifest) with their directory, the marker and the snapshots
        // directory, images.json and its directory.
        #expect(fsyncs >= 8 && syncfs >= 1, "\(trace)")
    }
}

/// SIGTERM (a Ctrl-C, a service stop) in the middle of an unpack: the half-made snapshot goes
/// with the process, before any other command runs.
@Suite(.enabled(if: engineTestsEnabled, skipReason))
struct InterruptedStoreCommandTests {
    @Test func loadStoppedMidUnpackTakesItsHalfMadeSnapshotAlong() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        try #require(try fixture.image(["rmi"], [fixture.image]).status == 0)
        let stopped = try run(
            [skiffBinary, "load", "--root", fixture.root, "-i", try busyboxArchive.get()], check: false,
            environment: ["SKIFF_TEST_KILL_AT": "snapshot-unpacked:TERM"])
        #expect(stopped.status == SIGTERM, "\(stopped)")
        let snapshots = (try? FileManager.default.contentsOfDirectory(atPath: fixture.root + "/snapshots")) ?? []
        #expect(!snapshots.contains { $0.hasPrefix(".tmp-") }, "\(snapshots)")
        let ingest = (try? FileManager.default.contentsOfDirectory(atPath: fixture.root + "/ingest")) ?? []
        #expect(ingest.isEmpty, "\(ingest)")
    }
}

import Foundation
import LinuxSupport
import Testing

/// Every container directory and image name is findable by the commands users have, damaged or
/// half made: `ps -a` and `images` list or report them, `rm -f` and `rmi -f` remove them, and
/// `system check` finds and repairs what a killed process or a damaged file left.
@Suite(.enabled(if: engineTestsEnabled, skipReason))
struct StoreTruthTests {
    /// `skiff <command>` killed (SIGKILL) at the named fault point.
    func killedAt(_ point: String, _ fixture: EngineFixture, _ command: String, _ arguments: [String]) throws -> CommandResult {
        try run(
            [skiffBinary, command, "--root", fixture.root, "--runtime-root", fixture.runtimeRoot] + arguments, check: false,
            environment: ["SKIFF_TEST_KILL_AT": point])
    }

    func containerDirectories(_ fixture: EngineFixture) -> [String] {
        fixture.containerIDs().filter { !$0.hasPrefix(".") }
    }

    func write(_ text: String, to path: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    @Test func aCreateKilledAfterTheMountIsListedThenRemovedByTheNextLockedCommand() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let killed = try killedAt("create-rootfs-mounted", fixture, "create", ["--network", "none", fixture.image, "true"])
        #expect(killed.status == SIGKILL, "\(killed)")
        let id = try #require(containerDirectories(fixture).first)
        #expect(fixture.mountsUnderFixture().contains { $0.contains(id) })
        let listed = try fixture.skiff("ps", ["-a"])
        #expect(listed.status == 0 && listed.stdout.contains(String(id.prefix(12))) && listed.stdout.contains("incomplete"), "\(listed)")
        #expect(listed.stderr.contains("skiff rm -f \(id.prefix(12))"), "\(listed.stderr)")
        let quiet = try fixture.skiff("ps", ["-a", "-q"])
        #expect(quiet.stdout.contains(String(id.prefix(12))), "\(quiet)")
        // ps only looks; a command that takes the containers lock removes it, mount and all.
        #expect(FileManager.default.fileExists(atPath: fixture.root + "/containers/" + id))
        let next = try fixture.skiff("run", ["--rm", "--network", "none", fixture.image, "true"])
        #expect(next.status == 0, "\(next)")
        #expect(!FileManager.default.fileExists(atPath: fixture.root + "/containers/" + id))
        #expect(!fixture.mountsUnderFixture().contains { $0.contains(id) })
        let rmi = try fixture.image(["rmi"], [fixture.image])
        #expect(rmi.status == 0, "\(rmi)")
    }

    @Test func rmForceRemovesAnIncompleteContainer() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let killed = try killedAt("create-spec-written", fixture, "create", ["--network", "none", fixture.image, "true"])
        #expect(killed.status == SIGKILL, "\(killed)")
        let id = try #require(containerDirectories(fixture).first)
        #expect(FileManager.default.fileExists(atPath: fixture.root + "/containers/\(id)/config.json"))
        let removed = try fixture.skiff("rm", ["-f", String(id.prefix(12))])
        #expect(removed.status == 0, "\(removed)")
        #expect(containerDirectories(fixture).isEmpty)
        #expect(!fixture.mountsUnderFixture().contains { $0.contains(id) })
        #expect(try fixture.skiff("ps", ["-a", "-q"]).stdout.isEmpty)

        // What an older skiff's killed create left: no record and no creator lease, mount kept.
        let old = try fixture.skiff("create", ["--network", "none", fixture.image, "true"], check: true)
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        unlink(fixture.root + "/containers/\(old)/container.json")
        unlink(fixture.root + "/containers/\(old)/creator")
        #expect(fixture.mountsUnderFixture().contains { $0.contains(old) })
        let removedOld = try fixture.skiff("rm", ["-f", String(old.prefix(12))])
        #expect(removedOld.status == 0, "\(removedOld)")
        #expect(containerDirectories(fixture).isEmpty)
        #expect(!fixture.mountsUnderFixture().contains { $0.contains(old) })
    }

    /// The lease keeps a directory whose creator still runs: only a dead creator's is removed.
    @Test func aDirectoryWhoseCreatorRunsIsNeverRemoved() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let id = String(repeating: "ab", count: 32)
        let directory = fixture.root + "/containers/" + id
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let me = try #require(ProcStat.read(pid: getpid()))
        try write("creator-\(getpid())-\(me.startTime)-x\n", to: directory + "/creator")
        let listed = try fixture.skiff("ps", ["-a"])
        #expect(listed.stdout.contains(String(id.prefix(12))) && listed.stdout.contains("Creating"), "\(listed)")
        let prune = try fixture.skiffGroup("container", "prune", ["-f"])
        #expect(prune.status == 0, "\(prune)")
        #expect(FileManager.default.fileExists(atPath: directory), "a create still under way lost its directory")
        #expect(try fixture.skiff("rm", ["-f", id]).status != 0)
        // The same directory once its creator is gone (a pid with another start time).
        try write("creator-\(getpid())-\(me.startTime + 1)-x\n", to: directory + "/creator")
        let again = try fixture.skiffGroup("container", "prune", ["-f"])
        #expect(again.status == 0 && again.stdout.contains(id), "\(again)")
        #expect(!FileManager.default.fileExists(atPath: directory))
    }

    /// A detached `sleep` whose container.json is then cut in half; returns its ID, monitor and
    /// init pids. `defer` the returned cleanup: it kills both by pid and removes the cgroup.
    func damagedRunningContainer(_ fixture: EngineFixture) throws -> (id: String, monitor: Int, pid: Int, cleanup: () -> Void) {
        let id = try fixture.skiff("run", ["-d", "--network", "none", fixture.image, "sleep", "1000"], check: true)
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let record = try #require(fixture.record(id))
        let monitor = try #require(record["monitorPid"] as? Int)
        let pid = try #require(record["pid"] as? Int)
        let cleanup = {
            if processExists(monitor) { kill(pid_t(monitor), SIGKILL) }
            if processExists(pid) { kill(pid_t(pid), SIGKILL) }
            _ = eventually { !processExists(monitor) && !processExists(pid) }
            for directory in fixture.cgroupDirectories(id) { rmdir(directory) }
        }
        let path = fixture.root + "/containers/\(id)/container.json"
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: path))
        return (id, monitor, pid, cleanup)
    }

    func expectAllGone(_ fixture: EngineFixture, _ id: String, monitor: Int, pid: Int) {
        #expect(eventually { !processExists(monitor) && !processExists(pid) }, "monitor or container still runs")
        #expect(!FileManager.default.fileExists(atPath: fixture.root + "/containers/" + id))
        #expect(!FileManager.default.fileExists(atPath: fixture.runtimeRoot + "/" + id))
        #expect(!fixture.mountsUnderFixture().contains { $0.contains(id) })
        #expect(fixture.cgroupDirectories(id).isEmpty)
    }

    @Test func aTruncatedRecordOfARunningContainerIsListedAndRmForceStopsEverything() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let (id, monitor, pid, cleanup) = try damagedRunningContainer(fixture)
        defer { cleanup() }
        let listed = try fixture.skiff("ps", ["-a"])
        #expect(listed.status == 0 && listed.stdout.contains(String(id.prefix(12))) && listed.stdout.contains("Damaged"), "\(listed)")
        #expect(listed.stderr.contains("skiff rm -f"), "\(listed.stderr)")
        let refused = try fixture.skiff("rm", [id])
        #expect(refused.status != 0 && refused.stderr.contains("running") && refused.stderr.contains("skiff rm -f"), "\(refused)")
        #expect(processExists(monitor) && processExists(pid))

        let removed = try fixture.skiff("rm", ["-f", String(id.prefix(12))])
        #expect(removed.status == 0, "\(removed)")
        expectAllGone(fixture, id, monitor: monitor, pid: pid)
    }

    /// The monitor's command line names the store as it was spelled then; with another
    /// spelling the monitor is found as the parent of the init the runtime's state names.
    @Test func aDamagedContainersMonitorIsFoundThroughTheRuntimeStateToo() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let (id, monitor, pid, cleanup) = try damagedRunningContainer(fixture)
        defer { cleanup() }
        let removed = try run(
            [skiffBinary, "rm", "--root", fixture.root + "/", "--runtime-root", fixture.runtimeRoot, "-f", id], check: false)
        #expect(removed.status == 0, "\(removed)")
        expectAllGone(fixture, id, monitor: monitor, pid: pid)
    }

    func manifestDigest(_ fixture: EngineFixture) throws -> String {
        let data = try Data(contentsOf: URL(fileURLWithPath: fixture.root + "/images.json"))
        let index = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        let images = try #require(index?["images"] as? [String: [String: Any]])
        return try #require(images.values.first?["manifest"] as? String)
    }

    @Test func aMissingManifestBlobIsReportedAndRmiForceRemovesTheName() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        // Another image that stays whole: the damaged one must not hide it.
        #expect(try fixture.image(["tag"], [fixture.image, "localhost/whole:1"]).status == 0)
        let data = try Data(contentsOf: URL(fileURLWithPath: fixture.root + "/images.json"))
        let missing = "sha256:" + String(repeating: "0", count: 64)
        let text = String(decoding: data, as: UTF8.self)
            .replacingOccurrences(
                of: "\"images\": {",
                with: "\"images\": { \"localhost/broken:1\": { \"manifest\": \"\(missing)\", \"updated\": \"2026-01-01T00:00:00Z\" },")
        try write(text, to: fixture.root + "/images.json")

        let images = try fixture.image(["images"], [])
        #expect(images.status == 0 && images.stdout.contains("localhost/whole"), "\(images)")
        #expect(
            images.stderr.contains(
                "image localhost/broken:1 is damaged: blob \(missing) missing; `skiff rmi -f localhost/broken:1` removes it"),
            "\(images.stderr)")
        let removed = try fixture.image(["rmi"], ["-f", "localhost/broken:1"])
        #expect(removed.status == 0 && removed.stdout.contains("Untagged: localhost/broken:1"), "\(removed)")

        // The loaded image's own manifest blob gone: both its names are damaged, rmi removes them.
        let manifest = try manifestDigest(fixture)
        unlink(fixture.root + "/blobs/sha256/" + manifest.dropFirst(7))
        let damaged = try fixture.image(["images"], [])
        #expect(damaged.status == 0 && damaged.stderr.contains("blob \(manifest) missing"), "\(damaged)")
        #expect(try fixture.image(["rmi"], ["localhost/whole:1"]).status == 0)
        #expect(try fixture.image(["rmi"], ["-f", fixture.image]).status == 0)
        let after = try fixture.image(["images"], [])
        #expect(after.status == 0 && after.stderr.isEmpty && !after.stdout.contains("localhost/"), "\(after)")
    }

    @Test func systemCheckFindsAndRepairsWhatKillsAndDamageLeft() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let clean = try fixture.skiffGroup("system", "check", [])
        #expect(clean.status == 0 && clean.stdout.contains("no problems"), "\(clean)")

        // A container whose create was killed, a snapshot without its marker, a half-removed
        // one, and a layer blob whose bytes changed.
        _ = try killedAt("create-rootfs-mounted", fixture, "create", ["--network", "none", fixture.image, "true"])
        let id = try #require(containerDirectories(fixture).first)
        let snapshots = fixture.root + "/snapshots/"
        try FileManager.default.createDirectory(
            atPath: snapshots + String(repeating: "1", count: 64) + "/fs", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(
            atPath: snapshots + ".trash-" + String(repeating: "2", count: 64) + "-1-1-x/fs",
            withIntermediateDirectories: true)
        let blobs = fixture.root + "/blobs/sha256/"
        let layer = try #require(
            try FileManager.default.contentsOfDirectory(atPath: blobs).max {
                (try? FileManager.default.attributesOfItem(atPath: blobs + $0)[.size] as? Int ?? 0) ?? 0
                    < (try? FileManager.default.attributesOfItem(atPath: blobs + $1)[.size] as? Int ?? 0) ?? 0
            })
        let handle = try #require(FileHandle(forWritingAtPath: blobs + layer))
        handle.seekToEndOfFile()
        handle.write(Data([0]))
        handle.closeFile()

        let found = try fixture.skiffGroup("system", "check", [])
        #expect(found.status == 1, "\(found)")
        for expected in [
            "blob sha256:\(layer): content has digest", "snapshot sha256:" + String(repeating: "1", count: 64) + ": incomplete",
            "half-removed snapshot", "image localhost/loaded:bb: damaged: layer blob sha256:\(layer) is corrupt",
            "container \(id.prefix(12)): incomplete", "5 problem(s), 0 repaired",
        ] {
            #expect(found.stdout.contains(expected), "\(expected) not in \(found.stdout)")
        }
        // Checking changed nothing.
        #expect(FileManager.default.fileExists(atPath: fixture.root + "/containers/" + id))
        #expect(FileManager.default.fileExists(atPath: blobs + layer))

        let repaired = try fixture.skiffGroup("system", "check", ["--repair"])
        #expect(repaired.status == 0 && repaired.stdout.contains("5 problem(s), 5 repaired"), "\(repaired)")
        #expect(!FileManager.default.fileExists(atPath: fixture.root + "/containers/" + id))
        #expect(!fixture.mountsUnderFixture().contains { $0.contains(id) })
        #expect(!FileManager.default.fileExists(atPath: blobs + layer))
        let names = (try? FileManager.default.contentsOfDirectory(atPath: snapshots)) ?? []
        #expect(!names.contains { $0.hasPrefix(".") || $0 == String(repeating: "1", count: 64) }, "\(names)")
        let after = try fixture.skiffGroup("system", "check", [])
        #expect(after.status == 0 && after.stdout.contains("no problems"), "\(after)")
    }

    @Test func aSaveKilledBeforeItsRenameLeavesNothingAfterTheNextSave() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let output = fixture.path + "/out.tar"
        let killed = try run(
            [skiffBinary, "save", "--root", fixture.root, "-o", output, fixture.image], check: false,
            environment: ["SKIFF_TEST_KILL_AT": "save-archive-written"])
        #expect(killed.status == SIGKILL, "\(killed)")
        func leftovers() -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: fixture.path)) ?? []).filter { $0.hasPrefix("out.tar.tmp-") }
        }
        #expect(leftovers().count == 1, "\(leftovers())")
        // An older skiff's name for it: the pid alone (no such process).
        try write("partial", to: output + ".tmp-2147483000")
        let saved = try fixture.image(["save"], ["-o", output, fixture.image])
        #expect(saved.status == 0, "\(saved)")
        #expect(leftovers().isEmpty, "\(leftovers())")
        #expect(FileManager.default.fileExists(atPath: output))
    }

    /// Layers freed after their blobs went (the image was removed while a container used it)
    /// count in what prune reports.
    @Test func pruneCountsTheSnapshotsItRemoves() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let id = try fixture.skiff("create", ["--network", "none", fixture.image, "true"], check: true)
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try fixture.image(["rmi"], ["-f", fixture.image]).status == 0)
        #expect(try fixture.skiff("rm", [id]).status == 0)
        let prune = try fixture.image(["image", "prune"], ["-f"])
        #expect(prune.status == 0 && prune.stdout.contains("1 layer snapshots"), "\(prune)")
        #expect(!prune.stdout.contains("reclaimed 0B"), "\(prune)")
    }
}

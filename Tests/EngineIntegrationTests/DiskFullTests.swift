import Foundation
import LinuxSupport
import Testing

/// A store on a small tmpfs: load refused by the free-space reserve, load and run hitting a full
/// disk; each followed by what a user runs next. Nothing may be named that is not complete, and
/// everything left can be removed.
@Suite(.enabled(if: engineTestsEnabled, skipReason))
struct DiskFullTests {
    /// A tmpfs of `size` mounted for the test; unmounted by `cleanup`.
    func smallDisk(_ fixture: EngineFixture, size: String) throws -> String {
        let mountPoint = fixture.path + "/small-" + size
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        try run(["/bin/mount", "-t", "tmpfs", "-o", "size=\(size)", "tmpfs", mountPoint])
        return mountPoint
    }

    func skiff(_ arguments: [String], _ environment: [String: String] = [:]) throws -> CommandResult {
        try run([skiffBinary] + arguments, check: false, environment: environment)
    }

    func leftovers(_ root: String) -> [String] {
        let snapshots = (try? FileManager.default.contentsOfDirectory(atPath: root + "/snapshots")) ?? []
        let ingest = (try? FileManager.default.contentsOfDirectory(atPath: root + "/ingest")) ?? []
        return snapshots.filter { $0.hasPrefix(".") } + ingest
    }

    @Test func loadOnAFullDiskNamesTheLayerAndLeavesNothingHalfMade() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let archive = try busyboxArchive.get()
        // The default reserve (256 MiB free) refuses the unpack on a small disk before writing.
        let refusing = try smallDisk(fixture, size: "4m")
        let refused = try skiff(["load", "--root", refusing + "/root", "-i", archive])
        #expect(
            refused.status != 0 && refused.stderr.contains("SKIFF_STORE_RESERVE") && refused.stderr.contains("localhost/loaded:bb"),
            "\(refused)")
        #expect(leftovers(refusing + "/root").isEmpty, "\(leftovers(refusing + "/root"))")
        // Without a reserve the unpack runs into ENOSPC: the error names image, layer and store.
        let disk = try smallDisk(fixture, size: "2m")
        let full = try skiff(["load", "--root", disk + "/root", "-i", archive], ["SKIFF_STORE_RESERVE": "0"])
        #expect(
            full.status != 0 && full.stderr.contains("No space left on device") && full.stderr.contains("localhost/loaded:bb")
                && full.stderr.contains(disk + "/root"), "\(full)")
        #expect(leftovers(disk + "/root").isEmpty, "\(leftovers(disk + "/root"))")
        let images = try skiff(["images", "--root", disk + "/root"])
        #expect(images.status == 0 && !images.stdout.contains("loaded"), "\(images)")
    }

    @Test func aContainerFillingTheDiskLeavesAStoreThatWorks() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let disk = try smallDisk(fixture, size: "16m")
        let root = disk + "/root", runtimeRoot = fixture.path + "/runtime-small"
        let environment = ["SKIFF_STORE_RESERVE": "0"]
        defer { _ = try? skiff(["rm", "-f", "--root", root, "--runtime-root", runtimeRoot, "filler"]) }
        #expect(try skiff(["load", "--root", root, "-i", try busyboxArchive.get()], environment).status == 0)
        let filled = try skiff(
            [
                "run", "--root", root, "--runtime-root", runtimeRoot, "--network", "none", "--name", "filler",
                fixture.image, "sh", "-c", "busybox dd if=/dev/zero of=/fill bs=1M count=64; echo dd=$?",
            ], environment)
        // The program's own exit code comes back (its output is lost with the log on the full
        // disk), and the user is told the record could not be kept.
        #expect(filled.status == 0, "\(filled)")
        #expect(filled.stderr.contains("could not be recorded") && filled.stderr.contains("No space left"), "\(filled)")
        let ps = try skiff(["ps", "-a", "--root", root, "--runtime-root", runtimeRoot])
        #expect(ps.status == 0 && ps.stdout.contains("filler"), "\(ps)")
        #expect(try skiff(["rm", "-f", "--root", root, "--runtime-root", runtimeRoot, "filler"]).status == 0)
        #expect(try skiff(["rmi", "--root", root, fixture.image]).status == 0)
        #expect(
            fixture.mountsUnderFixture().allSatisfy { $0.hasPrefix(disk) && !$0.contains("/containers/") },
            "\(fixture.mountsUnderFixture())")
        #expect(leftovers(root).isEmpty)
    }
}

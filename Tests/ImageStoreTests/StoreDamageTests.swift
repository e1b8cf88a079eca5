import Foundation
import Testing
import LinuxSupport
import OCISpec
@testable import ImageStore

/// What the store says about damage, and the names of a save's partial archives (pure logic).
struct StoreDamageTests {
    let digest = try! Digest(sha256Hex: String(repeating: "ab", count: 32))
    let other = try! Digest(sha256Hex: String(repeating: "cd", count: 32))

    @Test func aDamagedImageSaysWhatIsMissingAndHowToRemoveIt() {
        let damaged = DamagedImage(
            name: "localhost/foo:1", manifest: digest,
            problem: DamagedImage.problem(of: StoreError.blobMissing(other)))
        #expect(damaged.explanation == "image localhost/foo:1 is damaged: blob \(other) missing; `skiff rmi -f localhost/foo:1` removes it")
        let hub = DamagedImage(name: "docker.io/library/busybox:latest", manifest: digest, problem: "x")
        #expect(hub.familiar == "busybox:latest")
    }

    @Test func aDiffIDMismatchSaysWhatWasKept() {
        let message = StoreError.diffIDMismatch(layer: digest, expected: digest, actual: other, image: "foo:1").description
        #expect(!message.contains("nothing was stored"))
        #expect(message.contains("Kept:") && message.contains("no layer snapshot was made") && message.contains("skiff image prune"))
        #expect(message.contains("of image foo:1"))
    }

    @Test func checkProblemsSayWhatRepairDoesOrDid() {
        var problem = CheckProblem(
            area: .blob, subject: digest.description, problem: "content has digest \(other)", remedy: "removed", repairable: true)
        #expect(problem.description == "blob \(digest): content has digest \(other); --repair: removed")
        problem.repaired = true
        #expect(problem.description == "blob \(digest): content has digest \(other); repaired: removed")
        let manual = CheckProblem(
            area: .container, subject: "abc", problem: "damaged", remedy: "`skiff rm -f abc` removes it", repairable: false)
        #expect(manual.description == "container abc: damaged; `skiff rm -f abc` removes it")
    }

    @Test func saveLeftoversAreNamedNextToTheArchive() {
        #expect(ImageStore.saveTemporaryDirectory(of: "out.tar") == ".")
        #expect(ImageStore.saveTemporaryDirectory(of: "/out.tar") == "/")
        #expect(ImageStore.saveTemporaryDirectory(of: "/a/b/out.tar") == "/a/b")
        #expect(ImageStore.saveTemporaryPrefix(of: "/a/b/out.tar") == "out.tar.tmp")
        #expect(ImageStore.saveTemporaryPrefix(of: "out.tar") == "out.tar.tmp")
    }

    /// A partial archive of a dead save goes; a live process's and other files stay.
    @Test func onlyDeadSavesLeftoversAreRemoved() throws {
        let directory = "/tmp/skiff-save-leftovers-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let me = try #require(ProcStat.read(pid: getpid()))
        let names = [
            "out.tar.tmp-\(getpid())-\(me.startTime)-a", "out.tar.tmp-\(getpid())-\(me.startTime + 1)-b",
            "out.tar.tmp-2147483000", "out.tar.tmp-\(getpid())", "out.tar.tmp-garbage", "other.tar.tmp-2147483000",
        ]
        for name in names { _ = FileManager.default.createFile(atPath: directory + "/" + name, contents: Data()) }
        ImageStore.removeDeadSaveLeftovers(of: directory + "/out.tar")
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: directory))
        #expect(
            left == [
                "out.tar.tmp-\(getpid())-\(me.startTime)-a", "out.tar.tmp-\(getpid())", "out.tar.tmp-garbage", "other.tar.tmp-2147483000",
            ])
    }
}

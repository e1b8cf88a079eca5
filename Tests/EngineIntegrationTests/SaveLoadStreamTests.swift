import Foundation
import Testing

/// `skiff save` without -o writes to its standard output and `skiff load` without -i reads its
/// standard input (docker's `save IMAGE | ssh host docker load`); a terminal is refused at both ends.
@Suite(.serialized, .enabled(if: engineTestsEnabled, skipReason))
struct SaveLoadStreamTests {
    @Test func saveToAPipeLoadsIntoAnotherStore() throws {
        let from = try EngineFixture()
        defer { from.cleanup() }
        let to = try EngineFixture()
        defer { to.cleanup() }
        try from.image(["tag"], [from.image, "piped:1"])
        let result = try run([
            "/bin/bash", "-o", "pipefail", "-c",
            "'\(skiffBinary)' save --root '\(from.root)' piped:1 | '\(skiffBinary)' load --root '\(to.root)'",
        ])
        #expect(result.stdout.contains("Loaded image: docker.io/library/piped:1"), "\(result.stdout)")
        let run = try to.skiff("run", ["--rm", "piped:1", "echo", "came through a pipe"])
        #expect(run.status == 0 && run.stdout.contains("came through a pipe"), "\(run.stderr)")
        // The archive went to the pipe: nothing named beside it, no temporary file in the store.
        let leftovers = (try? FileManager.default.subpathsOfDirectory(atPath: from.root))?.filter { $0.contains(".tmp") } ?? []
        #expect(leftovers.isEmpty, "\(leftovers)")
    }

    @Test func aTerminalIsRefusedAtBothEnds() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let save = try PtySession([skiffBinary, "save", "--root", fixture.root, fixture.image])
        #expect(save.wait() == 125)
        #expect(save.text.contains("cowardly refusing to save to a terminal"), "\(save.text)")
        #expect(save.text.utf8.count < 1000, "no archive bytes on the terminal")
        let load = try PtySession([skiffBinary, "load", "--root", fixture.root])
        #expect(load.wait() == 125)
        #expect(load.text.contains("stdin is a terminal"), "\(load.text)")
    }

    @Test func loadOfSomethingThatIsNoArchiveSaysSo() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let result = try runWithInput([skiffBinary, "load", "--root", fixture.root], input: "this is not a tar archive\n")
        #expect(result.status != 0)
        #expect(result.stderr.contains("not a valid image archive") || result.stderr.contains("cannot read"), "\(result.stderr)")
    }
}

import Foundation
import Testing

/// The command reference cannot drift from the commands: docs/cli.md is what `skiff generate-docs`
/// makes of the command definitions, every command has examples that parse, and the help screens
/// end with them. No root needed.
@Suite struct CommandReferenceTests {
    @Test func everyCommandHasExamplesThatParse() throws {
        let result = try run([skiffBinary, "generate-docs", "--check"], check: false)
        #expect(result.status == 0, "examples missing or not parsing:\n\(result.stderr)")
    }

    @Test func docsCliMatchesTheCommands() throws {
        let generated = "/tmp/skiff-cli-\(UUID().uuidString.prefix(8)).md"
        defer { unlink(generated) }
        try run([skiffBinary, "generate-docs", "--markdown", generated])
        let expected = try String(contentsOfFile: generated, encoding: .utf8)
        let committed = try String(contentsOfFile: DocumentationTests.repository + "/docs/cli.md", encoding: .utf8)
        #expect(
            committed == expected,
            "docs/cli.md is not what the commands say: run `skiff generate-docs --markdown docs/cli.md` and commit it")
    }

    @Test func helpEndsWithExamples() throws {
        for (arguments, example) in [
            (["run", "--help"], "skiff run --rm busybox echo hello"),
            (["help", "network", "create"], "skiff network create app-net"),
            (["container", "ls", "--help"], "skiff container ls -a"),
            (["--root", "/tmp/unused-root", "ps", "-h"], "skiff ps -a"),
            (["--help"], "skiff --root /srv/skiff ps -a"),
        ] {
            let result = try run([skiffBinary] + arguments, check: false)
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            let tail = result.stdout.components(separatedBy: "EXAMPLES:").last ?? ""
            #expect(
                result.stdout.contains("EXAMPLES:") && tail.contains(example), "\(arguments) help ends with its examples:\n\(result.stdout)"
            )
            #expect(!tail.contains("OPTIONS:"), "the examples come last")
        }
    }

    @Test func manPagesForEveryCommand() throws {
        let directory = "/tmp/skiff-man-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try run([skiffBinary, "generate-docs", "--man", directory])
        let run = try String(contentsOfFile: directory + "/skiff-run.1", encoding: .utf8)
        #expect(run.hasPrefix(".TH SKIFF-RUN 1"))
        #expect(run.contains("skiff run --rm busybox echo hello"))
        for page in ["skiff.1", "skiff-container-ls.1", "skiff-network-create.1", "skiff-vm-run.1"] {
            #expect(FileManager.default.fileExists(atPath: directory + "/" + page), "\(page)")
        }
    }
}

import Foundation
import Testing

/// `skiff build` pulls a base image the store lacks (docker build's rule), `--pull` pulls every
/// base again, and `--platform` takes this host's only. A registry of the test's own on 127.0.0.1.
@Suite(.serialized, .enabled(if: engineTestsEnabled, skipReason))
struct BuildPullTests {
    @Test(
        .enabled(
            if: ["/usr/bin/docker-registry", "/usr/bin/skopeo"].allSatisfy { FileManager.default.isExecutableFile(atPath: $0) },
            "needs docker-registry and skopeo (scripts/install-deps.sh)"))
    func baseImagesArePulled() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let registry = try LoopbackRegistry(directory: fixture.path)
        defer { registry.stop() }
        let base = "127.0.0.1:\(registry.port)/base/bb:1"
        #expect(try registry.push("base/bb:1"))
        let context = fixture.path + "/ctx"
        try FileManager.default.createDirectory(atPath: context, withIntermediateDirectories: true)
        try "FROM \(base)\nRUN echo built > /x\nCMD [\"cat\", \"/x\"]\n".write(
            toFile: context + "/Dockerfile", atomically: true, encoding: .utf8)

        let first = try fixture.skiff("build", ["-t", "pulled:1", context])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stderr.contains("pulling base image \(base)"), "a missing base is pulled: \(first.stderr)")
        #expect(try fixture.skiff("run", ["--rm", "pulled:1"]).stdout == "built\n")

        let again = try fixture.skiff("build", ["-t", "pulled:1", context])
        #expect(again.status == 0 && !again.stderr.contains("pulling base image"), "a present base is used as it is: \(again.stderr)")
        let forced = try fixture.skiff("build", ["--pull", "-t", "pulled:1", context])
        #expect(forced.status == 0 && forced.stderr.contains("pulling base image \(base)"), "--pull pulls again: \(forced.stderr)")

        #expect(try fixture.skiff("build", ["--platform", "linux/amd64", "-t", "pulled:2", context]).status == 0)
        let foreign = try fixture.skiff("build", ["--platform", "linux/arm64", "-t", "pulled:3", context])
        #expect(foreign.status != 0 && foreign.stderr.contains("linux/amd64 only"), "\(foreign.stderr)")
    }
}

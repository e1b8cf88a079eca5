import Foundation
import Testing

/// `skiff build` on real builds from the fixture's busybox image: multi-stage with COPY --from,
/// build args, a heredoc, .dockerignore, the cache and its invalidation, --target, a failing
/// RUN, and the result run with `skiff run`.
@Suite(.serialized, .enabled(if: engineTestsEnabled, skipReason)) struct BuildTests {
    static let dockerfile = """
        # syntax=docker/dockerfile:1
        ARG BASE=localhost/loaded:bb
        FROM ${BASE} AS build
        ARG GREETING=hi
        RUN busybox mkdir -p /out && echo "$GREETING" > /out/greeting
        COPY app/ /out/app/
        RUN <<EOF
        echo heredoc > /out/heredoc
        busybox rm -f /out/app/never
        EOF

        FROM localhost/loaded:bb
        COPY --from=build /out /srv
        ENV MODE=prod
        WORKDIR /srv
        USER 1000:1000
        LABEL org.example.name="demo app"
        CMD ["sh", "-c", "cat greeting heredoc app/hello.txt; echo $MODE; pwd; id -u; ls app"]
        """

    func makeContext(_ fixture: EngineFixture) throws -> String {
        let context = fixture.path + "/context"
        try FileManager.default.createDirectory(atPath: context + "/app", withIntermediateDirectories: true)
        try Data(Self.dockerfile.utf8).write(to: URL(fileURLWithPath: context + "/Dockerfile"))
        try Data("hello\n".utf8).write(to: URL(fileURLWithPath: context + "/app/hello.txt"))
        try Data("noise\n".utf8).write(to: URL(fileURLWithPath: context + "/app/debug.log"))
        try Data("**/*.log\n".utf8).write(to: URL(fileURLWithPath: context + "/.dockerignore"))
        return context
    }

    @Test func multiStageBuildRunsWithItsConfigAndCaches() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let context = try makeContext(fixture)
        let first = try fixture.skiff("build", ["-t", "localhost/built:1", "--build-arg", "GREETING=hey", "--label", "extra=yes", context])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stderr.contains("#2 [build 2/4] RUN busybox mkdir"), "\(first.stderr)")
        #expect(first.stderr.contains("#6 [stage-1 2/3] COPY --from=build /out /srv"), "\(first.stderr)")
        #expect(!first.stderr.contains("CACHED"))
        let id = first.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(id.hasPrefix("sha256:"))

        let run = try fixture.skiff("run", ["--rm", "--network", "none", "localhost/built:1"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == "hey\nheredoc\nhello\nprod\n/srv\n1000\nhello.txt\n")

        let inspect = try fixture.image(["image", "inspect"], ["localhost/built:1"])
        let images = try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as? [[String: Any]]
        let config = images?.first?["Config"] as? [String: Any]
        #expect(config?["User"] as? String == "1000:1000")
        #expect(config?["WorkingDir"] as? String == "/srv")
        #expect((config?["Env"] as? [String])?.contains("MODE=prod") == true)
        #expect(config?["Labels"] as? [String: String] == ["org.example.name": "demo app", "extra": "yes"])
        #expect(config?["Cmd"] as? [String] == ["sh", "-c", "cat greeting heredoc app/hello.txt; echo $MODE; pwd; id -u; ls app"])

        let history = try fixture.image(["history"], ["--no-trunc", "localhost/built:1"])
        #expect(history.status == 0, "\(history.stderr)")
        let lines = history.stdout.split(separator: "\n")
        #expect(lines.first?.hasPrefix("IMAGE") == true)
        #expect(lines.count > 1 && lines[1].hasPrefix(id) && lines[1].contains("LABEL extra=yes") == false)
        #expect(lines.contains { $0.contains("COPY --from=build /out /srv") && !$0.contains(" 0B ") }, "\(history.stdout)")
        #expect(lines.contains { $0.contains("USER 1000:1000") && $0.contains(" 0B ") }, "\(history.stdout)")

        // The same build again: every step from the cache, the same image.
        let again = try fixture.skiff("build", ["-t", "localhost/built:1", "--build-arg", "GREETING=hey", "--label", "extra=yes", context])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout == first.stdout)
        #expect(again.stderr.components(separatedBy: "CACHED").count - 1 == 5, "\(again.stderr)")

        // An ignored file changes nothing; a copied one reruns its COPY and what follows only.
        try Data("more noise\n".utf8).write(to: URL(fileURLWithPath: context + "/app/debug.log"))
        let ignored = try fixture.skiff("build", ["--build-arg", "GREETING=hey", context])
        #expect(ignored.stderr.components(separatedBy: "CACHED").count - 1 == 5, "\(ignored.stderr)")
        try Data("changed\n".utf8).write(to: URL(fileURLWithPath: context + "/app/hello.txt"))
        let touched = try fixture.skiff("build", ["-t", "localhost/built:2", "--build-arg", "GREETING=hey", context])
        #expect(touched.status == 0, "\(touched.stderr)")
        #expect(touched.stderr.contains("#2 CACHED"), "\(touched.stderr)")
        #expect(!touched.stderr.contains("#3 CACHED"), "\(touched.stderr)")
        let changed = try fixture.skiff("run", ["--rm", "--network", "none", "localhost/built:2"])
        #expect(changed.stdout == "hey\nheredoc\nchanged\nprod\n/srv\n1000\nhello.txt\n")

        // Another build arg invalidates its RUN; --no-cache runs everything.
        let other = try fixture.skiff("build", ["--build-arg", "GREETING=yo", "--no-cache", context])
        #expect(other.status == 0 && !other.stderr.contains("CACHED"), "\(other.stderr)")
        #expect(fixture.mountsUnderFixture().filter { $0.contains("/containers/") }.isEmpty)

        // The cache stays out of `skiff images` (but not -a) and goes with `builder prune`.
        let listed = try fixture.image(["images"], []).stdout
        #expect(listed.contains("localhost/built") && !listed.contains("skiff-build-cache"), "\(listed)")
        #expect(try fixture.image(["images"], ["-a"]).stdout.contains("skiff-build-cache"))
        let prune = try fixture.image(["builder", "prune"], ["-f"])
        #expect(prune.status == 0 && prune.stdout.hasPrefix("Total reclaimed space:"), "\(prune.stderr)")
        #expect(try !fixture.image(["images"], ["-a"]).stdout.contains("skiff-build-cache"))
        let afterPrune = try fixture.skiff("run", ["--rm", "--network", "none", "localhost/built:2"])
        #expect(afterPrune.stdout == changed.stdout)
        let rebuilt = try fixture.skiff("build", ["--build-arg", "GREETING=hey", context])
        #expect(rebuilt.status == 0 && !rebuilt.stderr.contains("CACHED"), "\(rebuilt.stderr)")
    }

    @Test func cacheMountsOwnersAndScratch() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let context = try makeContext(fixture)
        // A cache mount keeps its files between builds (and out of the layer); --chown takes
        // names from the image's passwd and group; a scratch stage gets files from another.
        let dockerfile = """
            FROM localhost/loaded:bb AS base
            RUN --network=none --mount=type=cache,target=/cache echo x >> /cache/runs && busybox wc -l < /cache/runs > /runs
            RUN --mount=type=tmpfs,target=/scratch touch /scratch/gone
            COPY --chown=app:extra app/hello.txt /owned
            FROM scratch AS empty
            ENV UNUSED=1
            FROM scratch
            COPY --from=base /runs /owned /
            COPY --from=empty / /
            """
        try Data(dockerfile.utf8).write(to: URL(fileURLWithPath: context + "/Mounts"))
        let first = try fixture.skiff("build", ["-f", context + "/Mounts", "--target", "base", "-t", "localhost/mounts:1", context])
        #expect(first.status == 0, "\(first.stderr)")
        let second = try fixture.skiff(
            "build", ["-f", context + "/Mounts", "--no-cache", "--target", "base", "-t", "localhost/mounts:2", context])
        #expect(second.status == 0, "\(second.stderr)")
        let runs = try fixture.skiff(
            "run",
            ["--rm", "--network", "none", "localhost/mounts:2", "sh", "-c", "cat /runs; ls /cache /scratch; busybox stat -c %u:%g /owned"])
        #expect(runs.stdout == "2\n1000:2000\n", "\(runs.stdout) \(runs.stderr)")
        let scratch = try fixture.skiff("build", ["-f", context + "/Mounts", "-t", "localhost/scratch:1", context])
        #expect(scratch.status == 0, "\(scratch.stderr)")
        let inspect = try fixture.image(["image", "inspect"], ["localhost/scratch:1"])
        let images = try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as? [[String: Any]]
        let layers = (images?.first?["RootFS"] as? [String: Any])?["diff_ids"] as? [String]
        #expect(layers?.count == 1)

        // `-`: the Dockerfile on stdin and no context.
        try Data("FROM localhost/loaded:bb\nRUN echo piped > /piped\n".utf8).write(to: URL(fileURLWithPath: context + "/Piped"))
        let piped = try run(
            [
                "/bin/sh", "-c",
                "\"$0\" build --root \"$1\" --runtime-root \"$2\" -t localhost/piped:1 -q - < \"$3\"", skiffBinary, fixture.root,
                fixture.runtimeRoot, context + "/Piped",
            ], check: false)
        #expect(piped.status == 0 && piped.stdout.hasPrefix("sha256:"), "\(piped.stderr)")
        #expect(try fixture.skiff("run", ["--rm", "--network", "none", "localhost/piped:1", "cat", "/piped"]).stdout == "piped\n")
    }

    @Test func anInterruptedBuildLeavesNoContainer() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let context = try makeContext(fixture)
        try Data("FROM localhost/loaded:bb\nRUN --network=none sleep 60\n".utf8).write(to: URL(fileURLWithPath: context + "/Slow"))
        let process = Foundation.Process()
        process.executableURL = URL(fileURLWithPath: skiffBinary)
        process.arguments = ["build", "--root", fixture.root, "--runtime-root", fixture.runtimeRoot, "-f", context + "/Slow", context]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        // Interrupted once the step's container runs.
        #expect(eventually(30) { fixture.containerIDs().contains { !$0.hasPrefix(".") && fixture.record($0)?["pid"] != nil } })
        process.interrupt()
        process.waitUntilExit()
        #expect(process.terminationStatus != 0)
        #expect(fixture.containerIDs().filter { !$0.hasPrefix(".") }.isEmpty)
        #expect(fixture.mountsUnderFixture().filter { $0.contains("/containers/") }.isEmpty)
    }

    @Test func targetStageFailingRunAndBadDockerfiles() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let context = try makeContext(fixture)
        let iidfile = fixture.path + "/iid"
        let target = try fixture.skiff("build", ["--target", "build", "-t", "localhost/stage:1", "-q", "--iidfile", iidfile, context])
        #expect(target.status == 0, "\(target.stderr)")
        #expect(target.stderr.isEmpty)
        #expect(target.stdout == (try String(contentsOfFile: iidfile, encoding: .utf8)) + "\n")
        let ls = try fixture.skiff("run", ["--rm", "--network", "none", "localhost/stage:1", "ls", "/out"])
        #expect(ls.stdout == "app\ngreeting\nheredoc\n")

        try Data("FROM localhost/loaded:bb\nRUN echo before && exit 3\n".utf8).write(to: URL(fileURLWithPath: context + "/Failing"))
        let failing = try fixture.skiff("build", ["-f", context + "/Failing", "-t", "localhost/failed:1", context])
        #expect(failing.status != 0)
        #expect(failing.stdout.contains("before"))
        #expect(failing.stderr.contains("exit code: 3"), "\(failing.stderr)")
        #expect(fixture.containerIDs().filter { !$0.hasPrefix(".") }.isEmpty)
        #expect(fixture.mountsUnderFixture().filter { $0.contains("/containers/") }.isEmpty)
        let missing = try fixture.image(["image", "inspect"], ["localhost/failed:1"])
        #expect(missing.status != 0)

        try Data("FROM localhost/loaded:bb\nCOPY ../outside /x\n".utf8).write(to: URL(fileURLWithPath: context + "/Outside"))
        let outside = try fixture.skiff("build", ["-f", context + "/Outside", context])
        #expect(outside.status != 0 && outside.stderr.contains("outside the build context"), "\(outside.stderr)")
        // ADD of a plain file copies it, and so it does a compressed file that holds no tar, as
        // docker (BuildInputTests unpack real archives).
        try Data("FROM localhost/loaded:bb\nADD app/hello.txt /added\nCOPY app/hello.txt /home\n".utf8).write(
            to: URL(fileURLWithPath: context + "/Add"))
        let add = try fixture.skiff("build", ["-f", context + "/Add", "-t", "localhost/added:1", context])
        #expect(add.status == 0, "\(add.stderr)")
        // /home is a directory in the image: the file goes inside it.
        let added = try fixture.skiff("run", ["--rm", "--network", "none", "localhost/added:1", "cat", "/added", "/home/hello.txt"])
        #expect(added.stdout == "hello\nhello\n", "\(added.stderr)")
        try Data([0x1f, 0x8b, 8, 0, 0, 0]).write(to: URL(fileURLWithPath: context + "/app/a.tar.gz"))
        try Data("FROM localhost/loaded:bb\nADD app/a.tar.gz /\n".utf8).write(to: URL(fileURLWithPath: context + "/AddTar"))
        let tar = try fixture.skiff("build", ["-f", context + "/AddTar", context])
        #expect(tar.status == 0, "\(tar.stderr)")
        try Data("FROM localhost/loaded:bb\nFROBNICATE x\n".utf8).write(to: URL(fileURLWithPath: context + "/Bad"))
        let bad = try fixture.skiff("build", ["-f", context + "/Bad", context])
        #expect(bad.status != 0 && bad.stderr.contains("Bad:2:1: unknown instruction: FROBNICATE"), "\(bad.stderr)")
    }
}

/// `skiff commit`: a container's changes (files made and deleted, through the real overlay) as
/// an image with `-c` changes and the message in its history.
@Suite(.serialized, .enabled(if: engineTestsEnabled, skipReason)) struct CommitTests {
    @Test func commitKeepsAdditionsDeletionsAndChanges() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let made = try fixture.skiff(
            "run", ["--name", "source", "--network", "none", fixture.image, "sh", "-c", "echo data > /made && busybox rm /bin/true"])
        #expect(made.status == 0, "\(made.stderr)")
        let diff = try fixture.skiff("diff", ["source"])
        #expect(diff.status == 0, "\(diff.stderr)")
        let lines = diff.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains("A /made") && lines.contains("C /bin") && lines.contains("D /bin/true"), "\(diff.stdout)")
        #expect(lines == lines.sorted { $0.dropFirst(2) < $1.dropFirst(2) })
        let commit = try fixture.skiff(
            "commit",
            ["-c", "CMD [\"cat\", \"/made\"]", "-c", "ENV X=1", "-m", "by the test", "-a", "tester", "source", "localhost/committed:1"])
        #expect(commit.status == 0 && commit.stdout.hasPrefix("sha256:"), "\(commit.stderr)")
        let run = try fixture.skiff("run", ["--rm", "--network", "none", "localhost/committed:1"])
        #expect(run.stdout == "data\n", "\(run.stderr)")
        let check = try fixture.skiff("run", ["--rm", "--network", "none", "localhost/committed:1", "sh", "-c", "echo $X; ls /bin/true"])
        #expect(check.stdout == "1\n")
        #expect(check.status != 0)
        let history = try fixture.image(["history"], ["--no-trunc", "localhost/committed:1"])
        #expect(history.stdout.split(separator: "\n").dropFirst().first?.contains("by the test") == true, "\(history.stdout)")
        // export of the container, import of that tar: the same files, one layer.
        let tar = fixture.path + "/exported.tar"
        let export = try fixture.skiff("export", ["-o", tar, "source"])
        #expect(export.status == 0, "\(export.stderr)")
        let imported = try fixture.skiff("import", ["-c", "CMD [\"cat\", \"/made\"]", tar, "localhost/imported:1"])
        #expect(imported.status == 0 && imported.stdout.hasPrefix("sha256:"), "\(imported.stderr)")
        let fromImport = try fixture.skiff("run", ["--rm", "--network", "none", "localhost/imported:1"])
        #expect(fromImport.stdout == "data\n", "\(fromImport.stderr)")
        let gone = try fixture.skiff("run", ["--rm", "--network", "none", "localhost/imported:1", "ls", "/bin/true"])
        #expect(gone.status != 0)
        try Data("not a tar".utf8).write(to: URL(fileURLWithPath: fixture.path + "/junk"))
        let junk = try fixture.skiff("import", [fixture.path + "/junk", "localhost/junk:1"])
        #expect(junk.status != 0 && junk.stderr.contains("not an uncompressed tar"), "\(junk.stderr)")

        let bad = try fixture.skiff("commit", ["-c", "RUN true", "source", "localhost/committed:2"])
        #expect(bad.status != 0 && bad.stderr.contains("only CMD, ENTRYPOINT"), "\(bad.stderr)")
    }
}

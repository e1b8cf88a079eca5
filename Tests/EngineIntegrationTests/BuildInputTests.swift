import Foundation
import Testing

/// `skiff build`'s other inputs and step kinds on real builds: a tar context on stdin (plain,
/// gzip), ADD of local archives (gzip, bzip2, xz, zstd; a hostile entry refused), RUN --mount
/// of a bind (context, stage) and a secret (never in a layer or the cache key), ONBUILD stored
/// in the image and run when it is a base, and --network for RUN steps.
@Suite(.serialized, .enabled(if: engineTestsEnabled, skipReason)) struct BuildInputTests {
    func write(_ text: String, _ path: String) throws {
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    /// `skiff build ... -` with `input` (a shell redirection or pipe) as stdin.
    func buildFromStdin(_ fixture: EngineFixture, _ arguments: String, input: String) throws -> CommandResult {
        try run(
            [
                "/bin/sh", "-c",
                "\(input) | \"$0\" build --root \"$1\" --runtime-root \"$2\" \(arguments) -", skiffBinary, fixture.root,
                fixture.runtimeRoot,
            ], check: false)
    }

    @Test func tarContextOnStdinPlainAndGzip() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let context = fixture.path + "/ctx"
        try write("FROM localhost/loaded:bb\nCOPY data/ /data/\nRUN cat /data/a.txt > /seen\n", context + "/Dockerfile")
        try write("from-the-tar\n", context + "/data/a.txt")
        try write("FROM localhost/loaded:bb\nCOPY data/a.txt /other\n", context + "/sub/Other")
        let plain = try buildFromStdin(fixture, "-t localhost/stdin:plain -q", input: "tar -C \(context) -cf - .")
        #expect(plain.status == 0 && plain.stdout.hasPrefix("sha256:"), "\(plain.stderr)")
        let seen = try fixture.skiff("run", ["--rm", "--network", "none", "localhost/stdin:plain", "cat", "/seen"])
        #expect(seen.stdout == "from-the-tar\n", "\(seen.stderr)")
        // gzip, and -f naming a file inside the streamed context.
        let gzip = try buildFromStdin(fixture, "-t localhost/stdin:gz -f sub/Other -q", input: "tar -C \(context) -czf - .")
        #expect(gzip.status == 0, "\(gzip.stderr)")
        let other = try fixture.skiff("run", ["--rm", "--network", "none", "localhost/stdin:gz", "cat", "/other"])
        #expect(other.stdout == "from-the-tar\n", "\(other.stderr)")
        // A hostile context: an entry climbing out with .. is refused, and nothing is left behind.
        let evil = fixture.path + "/evil"
        try shell(
            """
            mkdir -p \(evil)/in && cd \(evil)/in && printf 'FROM localhost/loaded:bb\\n' > Dockerfile && echo x > escape
            tar -cf ../evil.tar Dockerfile --transform 's,^escape$,../escape,' escape
            """)
        let hostile = try buildFromStdin(fixture, "-t localhost/stdin:evil", input: "cat \(evil)/evil.tar")
        #expect(hostile.status != 0 && hostile.stderr.contains(".."), "\(hostile.stderr)")
        #expect(!FileManager.default.fileExists(atPath: fixture.root + "/build-tmp/escape"))
        let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: fixture.root + "/build-tmp")) ?? []
        #expect(leftovers.isEmpty, "\(leftovers)")
    }

    @Test func addUnpacksLocalArchivesOfEveryCompression() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let context = fixture.path + "/ctx"
        try shell(
            """
            mkdir -p \(context)/tree/dir && cd \(context)/tree
            echo one > dir/file && ln -s file dir/link && chown 123:456 dir/file
            tar -cf ../plain.tar dir
            gzip -c ../plain.tar > ../a.tar.gz
            bzip2 -c ../plain.tar > ../a.tar.bz2
            xz -c ../plain.tar > ../a.tar.xz
            zstd -q -c ../plain.tar > ../a.tar.zst
            echo not-a-tar | gzip -c > ../note.gz
            """)
        try write(
            """
            FROM localhost/loaded:bb
            ADD plain.tar /p
            ADD a.tar.gz /g/
            ADD a.tar.bz2 /b
            ADD a.tar.xz /x
            ADD a.tar.zst /z
            ADD note.gz /note.gz
            ADD --chown=7:8 a.tar.gz /owned
            """, context + "/Dockerfile")
        let built = try fixture.skiff("build", ["-t", "localhost/add:1", context])
        #expect(built.status == 0, "\(built.stderr)")
        let check = try fixture.skiff(
            "run",
            [
                "--rm", "--network", "none", "localhost/add:1", "sh", "-c",
                "for d in p g b x z; do cat /$d/dir/file; readlink /$d/dir/link; done; busybox stat -c %u:%g /p/dir/file /owned/dir/file; busybox gunzip -c /note.gz",
            ])
        #expect(
            check.stdout == String(repeating: "one\nfile\n", count: 5) + "123:456\n7:8\nnot-a-tar\n", "\(check.stdout) \(check.stderr)")
        // The archive's content is in the cache key: a changed archive reruns its ADD.
        let again = try fixture.skiff("build", ["-t", "localhost/add:1", context])
        #expect(again.stderr.components(separatedBy: "CACHED").count - 1 == 7, "\(again.stderr)")
        try shell("cd \(context)/tree && echo two > dir/file && tar -cf ../plain.tar dir")
        let changed = try fixture.skiff("build", ["-t", "localhost/add:2", context])
        #expect(changed.status == 0 && changed.stderr.contains("#2 [stage-0 2/8] ADD plain.tar /p\n#2 DONE"), "\(changed.stderr)")
        let two = try fixture.skiff("run", ["--rm", "--network", "none", "localhost/add:2", "cat", "/p/dir/file"])
        #expect(two.stdout == "two\n")

        // A hostile archive (an entry with ..) is refused and leaves no scratch directory.
        try shell(
            """
            mkdir -p \(fixture.path)/evil && cd \(fixture.path)/evil && echo x > escape
            tar -czf \(context)/evil.tar.gz --transform 's,^escape$,../../escape,' escape
            """)
        try write("FROM localhost/loaded:bb\nADD evil.tar.gz /e/\n", context + "/Evil")
        let evil = try fixture.skiff("build", ["-f", context + "/Evil", context])
        #expect(evil.status != 0 && evil.stderr.contains("cannot be unpacked"), "\(evil.stderr)")
        let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: fixture.root + "/build-tmp")) ?? []
        #expect(leftovers.isEmpty, "\(leftovers)")
    }

    @Test func bindAndSecretMountsAndNetwork() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let context = fixture.path + "/ctx"
        try write("in-the-context\n", context + "/files/config.txt")
        let secretFile = fixture.path + "/token"
        try write("s3cr3t-value\n", secretFile)
        try write(
            """
            FROM localhost/loaded:bb AS tools
            RUN echo from-a-stage > /tool.txt
            FROM localhost/loaded:bb
            RUN --mount=type=bind,source=files,target=/mnt/ctx cat /mnt/ctx/config.txt > /from-bind
            RUN --mount=type=bind,from=tools,source=/tool.txt,target=/mnt/tool.txt cat /mnt/tool.txt > /from-stage
            RUN --mount=type=bind,source=files,target=/mnt/rw,rw echo scribble > /mnt/rw/config.txt && cat /mnt/rw/config.txt > /rw-seen
            RUN --mount=type=secret,id=token test -s /run/secrets/token && echo present > /secret-seen
            RUN --mount=type=secret,id=token,target=/opt/key test -s /opt/key && ls /opt > /opt-listing
            RUN ls /sys/class/net > /interfaces
            RUN --mount=type=cache,id=owned,target=/owned-cache,uid=1000,gid=2000,mode=0750,sharing=locked busybox stat -c %u:%g:%a /owned-cache > /cache-owner
            """, context + "/Dockerfile")
        // --network none: every RUN step without a --network of its own has only loopback.
        let arguments = ["--network", "none", "--secret", "id=token,src=\(secretFile)", context]
        let built = try fixture.skiff("build", ["-t", "localhost/mounts:1"] + arguments)
        #expect(built.status == 0, "\(built.stderr)")
        let check = try fixture.skiff(
            "run",
            [
                "--rm", "--network", "none", "localhost/mounts:1", "sh", "-c",
                "cat /from-bind /from-stage /rw-seen /secret-seen /opt-listing /interfaces /cache-owner; ls /mnt /run/secrets /opt 2>&1",
            ])
        #expect(
            check.stdout.hasPrefix("in-the-context\nfrom-a-stage\nscribble\npresent\nkey\nlo\n1000:2000:750\n"),
            "\(check.stdout) \(check.stderr)")
        // The rw bind's writes went nowhere; the mount points and the secret left no trace.
        #expect(try String(contentsOfFile: context + "/files/config.txt", encoding: .utf8) == "in-the-context\n")
        #expect(check.stdout.contains("ls: /mnt: No such file or directory"), "\(check.stdout)")
        #expect(check.stdout.contains("ls: /run/secrets: No such file or directory"), "\(check.stdout)")
        #expect(check.stdout.contains("ls: /opt: No such file or directory"), "\(check.stdout)")
        let save = try fixture.image(["save"], ["-o", fixture.path + "/saved.tar", "localhost/mounts:1"])
        #expect(save.status == 0, "\(save.stderr)")
        let grep = try run(["/bin/sh", "-c", "tar -xOf \(fixture.path)/saved.tar | grep -c s3cr3t-value"], check: false)
        #expect(grep.stdout == "0\n", "the secret is in the saved image")

        // Another secret value is not a cache miss (every RUN from the cache); a changed bind source is.
        try write("other-secret-value\n", secretFile)
        let same = try fixture.skiff("build", ["-t", "localhost/mounts:1"] + arguments)
        #expect(same.status == 0 && same.stderr.components(separatedBy: "CACHED").count - 1 == 8, "\(same.stderr)")
        try write("changed\n", context + "/files/config.txt")
        let again = try fixture.skiff("build", ["-t", "localhost/mounts:2"] + arguments)
        #expect(again.status == 0 && again.stderr.contains("#2 CACHED") && !again.stderr.contains("#4 CACHED"), "\(again.stderr)")
        let changed = try fixture.skiff("run", ["--rm", "--network", "none", "localhost/mounts:2", "cat", "/from-bind"])
        #expect(changed.stdout == "changed\n")
        // A required secret that was not given fails the build with what to do.
        try write("FROM localhost/loaded:bb\nRUN --mount=type=secret,id=missing,required=true true\n", context + "/Required")
        let required = try fixture.skiff("build", ["-f", context + "/Required", context])
        #expect(required.status != 0 && required.stderr.contains("--secret id=missing,src=FILE"), "\(required.stderr)")
        // A bind source leading out of the context through a symlink is refused.
        symlink("/etc", context + "/files/out")
        try write("FROM localhost/loaded:bb\nRUN --mount=type=bind,source=files/out,target=/m ls /m\n", context + "/Escape")
        let escape = try fixture.skiff("build", ["-f", context + "/Escape", context])
        #expect(escape.status != 0 && escape.stderr.contains("outside the build context"), "\(escape.stderr)")
        #expect(fixture.containerIDs().filter { !$0.hasPrefix(".") }.isEmpty)
        #expect(fixture.mountsUnderFixture().filter { $0.contains("/containers/") }.isEmpty)
    }

    @Test func onbuildTriggersRunInTheChildBuild() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let context = fixture.path + "/ctx"
        try write("payload\n", context + "/payload.txt")
        try write(
            """
            FROM localhost/loaded:bb
            ONBUILD COPY payload.txt /onbuild/payload.txt
            ONBUILD RUN echo triggered > /onbuild/ran
            CMD ["cat", "/onbuild/ran"]
            """, context + "/Parent")
        let parent = try fixture.skiff("build", ["-f", context + "/Parent", "-t", "localhost/parent:1", context])
        #expect(parent.status == 0, "\(parent.stderr)")
        // The parent itself did not run its triggers.
        let own = try fixture.skiff("run", ["--rm", "--network", "none", "localhost/parent:1", "ls", "/onbuild"])
        #expect(own.status != 0)
        try write("FROM localhost/parent:1\nRUN cat /onbuild/payload.txt /onbuild/ran > /child\n", context + "/Child")
        let child = try fixture.skiff("build", ["-f", context + "/Child", "-t", "localhost/child:1", context])
        #expect(child.status == 0, "\(child.stderr)")
        #expect(child.stderr.contains("COPY payload.txt /onbuild/payload.txt"), "\(child.stderr)")
        let ran = try fixture.skiff("run", ["--rm", "--network", "none", "localhost/child:1", "cat", "/child"])
        #expect(ran.stdout == "payload\ntriggered\n", "\(ran.stderr)")
        // The triggers are consumed: the child's image carries none, so a grandchild runs none.
        try write("FROM localhost/child:1\nRUN ls /onbuild > /listing\n", context + "/Grandchild")
        let grandchild = try fixture.skiff("build", ["-f", context + "/Grandchild", context])
        #expect(grandchild.status == 0 && !grandchild.stderr.contains("COPY payload.txt"), "\(grandchild.stderr)")
    }

    @Test func layersAreCompressedAsAsked() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let context = fixture.path + "/ctx"
        try write("FROM localhost/loaded:bb\nRUN echo compressed > /c\nCOPY Dockerfile /copied\n", context + "/Dockerfile")
        // The media types of the saved image's layers, the ones the build added.
        func layerTypes(_ image: String) throws -> String {
            let archive = fixture.path + "/\(UUID().uuidString).tar"
            let saved = try fixture.image(["save"], ["-o", archive, image])
            #expect(saved.status == 0, "\(saved.stderr)")
            let script = """
                import json, sys, tarfile
                tar = tarfile.open(sys.argv[1])
                blob = lambda d: json.loads(tar.extractfile("blobs/" + d.replace(":", "/")).read())
                manifest = blob(json.loads(tar.extractfile("index.json").read())["manifests"][0]["digest"])
                print(" ".join(layer["mediaType"].rsplit(".", 1)[1] for layer in manifest["layers"][1:]))
                """
            return try run(["/usr/bin/env", "python3", "-c", script, archive]).stdout
        }
        let gzip = try fixture.skiff("build", ["--network", "none", "-t", "localhost/gz:1", context])
        #expect(gzip.status == 0, "\(gzip.stderr)")
        #expect(try layerTypes("localhost/gz:1") == "tar+gzip tar+gzip\n")
        let zstd = try fixture.skiff(
            "build", ["--network", "none", "--no-cache", "--compression", "zstd", "-t", "localhost/zst:1", context])
        #expect(zstd.status == 0, "\(zstd.stderr)")
        #expect(try layerTypes("localhost/zst:1") == "tar+zstd tar+zstd\n")
        for image in ["localhost/gz:1", "localhost/zst:1"] {
            let ran = try fixture.skiff("run", ["--rm", "--network", "none", image, "cat", "/c"])
            #expect(ran.stdout == "compressed\n", "\(ran.stderr)")
        }
        // A commit of a container of the compressed image (its store unpacks the blobs itself).
        let made = try fixture.skiff("run", ["--name", "from-zst", "--network", "none", "localhost/zst:1", "sh", "-c", "echo more > /m"])
        #expect(made.status == 0, "\(made.stderr)")
        let committed = try fixture.skiff("commit", ["from-zst", "localhost/committed-zst:1"])
        #expect(committed.status == 0, "\(committed.stderr)")
        let both = try fixture.skiff("run", ["--rm", "--network", "none", "localhost/committed-zst:1", "cat", "/c", "/m"])
        #expect(both.stdout == "compressed\nmore\n", "\(both.stderr)")
    }

    @Test func addFetchesURLsIntoTheCacheKeyAndChecksThem() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let served = fixture.path + "/served"
        try write("first version\n", served + "/files/tool.sh")
        // A web server of the test's own on 127.0.0.1, on a port the kernel picks.
        let server = Foundation.Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        let script = """
            import http.server, functools, sys
            handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])
            httpd = http.server.HTTPServer(("127.0.0.1", 0), handler)
            open(sys.argv[2], "w").write(str(httpd.server_address[1]))
            httpd.serve_forever()
            """
        server.arguments = ["python3", "-c", script, served, fixture.path + "/port"]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer {
            // SIGKILL: the test process's threads block SIGTERM, and its children inherit that.
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
        }
        #expect(eventually(10) { ((try? String(contentsOfFile: fixture.path + "/port", encoding: .utf8)) ?? "").count > 1 })
        let port = try String(contentsOfFile: fixture.path + "/port", encoding: .utf8)
        let url = "http://127.0.0.1:\(port)/files/tool.sh"
        let context = fixture.path + "/ctx"
        try write("FROM localhost/loaded:bb\nADD \(url) /opt/\nADD \(url) /renamed.sh\n", context + "/Dockerfile")
        let first = try fixture.skiff("build", ["--network", "none", "-t", "localhost/url:1", context])
        #expect(first.status == 0, "\(first.stderr)")
        let check = try fixture.skiff(
            "run",
            ["--rm", "--network", "none", "localhost/url:1", "sh", "-c", "cat /opt/tool.sh /renamed.sh; busybox stat -c %a /opt/tool.sh"])
        #expect(check.stdout == "first version\nfirst version\n600\n", "\(check.stderr)")
        // The same content: cached; changed content: fetched again and the step reruns.
        let same = try fixture.skiff("build", ["--network", "none", "-t", "localhost/url:1", context])
        #expect(same.stderr.components(separatedBy: "CACHED").count - 1 == 2, "\(same.stderr)")
        try write("second version\n", served + "/files/tool.sh")
        let changed = try fixture.skiff("build", ["--network", "none", "-t", "localhost/url:2", context])
        #expect(changed.status == 0 && !changed.stderr.contains("CACHED"), "\(changed.stderr)")
        let second = try fixture.skiff("run", ["--rm", "--network", "none", "localhost/url:2", "cat", "/opt/tool.sh"])
        #expect(second.stdout == "second version\n")
        // --checksum: a matching one passes, another fails the build; a 404 fails it.
        let digest = try run(["/bin/sh", "-c", "sha256sum \(served)/files/tool.sh | cut -d' ' -f1"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        try write("FROM localhost/loaded:bb\nADD --checksum=sha256:\(digest) \(url) /ok\n", context + "/Good")
        let good = try fixture.skiff("build", ["--network", "none", "-f", context + "/Good", context])
        #expect(good.status == 0, "\(good.stderr)")
        try write("FROM localhost/loaded:bb\nADD --checksum=sha256:\(String(repeating: "0", count: 64)) \(url) /bad\n", context + "/Bad")
        let bad = try fixture.skiff("build", ["--network", "none", "-f", context + "/Bad", context])
        #expect(bad.status != 0 && bad.stderr.contains("not the --checksum"), "\(bad.stderr)")
        try write("FROM localhost/loaded:bb\nADD http://127.0.0.1:\(port)/missing /m\n", context + "/Missing")
        let missing = try fixture.skiff("build", ["--network", "none", "-f", context + "/Missing", context])
        #expect(missing.status != 0 && missing.stderr.contains("HTTP 404"), "\(missing.stderr)")
        let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: fixture.root + "/build-tmp")) ?? []
        #expect(leftovers.isEmpty, "\(leftovers)")
    }
}

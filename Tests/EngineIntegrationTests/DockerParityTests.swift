import Foundation
import LinuxSupport
import Testing

/// The docker behaviours of issue #14 that need a real container to see: `--volumes-from`,
/// `run -a`, bind propagation and the cgroup OOM killer in `inspect` and `events`.
@Suite(.serialized, .enabled(if: engineTestsEnabled, skipReason))
struct DockerParityTests {
    func unique(_ prefix: String) -> String { "\(prefix)-\(UInt32.random(in: 0...UInt32.max))" }

    /// Every volume (named and anonymous) and bind of the source, at the same destinations; a
    /// mode after the name overrides theirs; a -v on the same destination wins.
    @Test func volumesFromTakesEveryVolumeAndBind() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let source = unique("vf-src"), named = unique("vf-vol")
        let hostDirectory = fixture.path + "/bind"
        try FileManager.default.createDirectory(atPath: hostDirectory, withIntermediateDirectories: true)
        try "from-host\n".write(toFile: hostDirectory + "/f", atomically: true, encoding: .utf8)
        let made = try fixture.skiff(
            "run",
            [
                "--name", source, "-v", named + ":/named", "-v", "/anon", "-v", hostDirectory + ":/bind:ro", fixture.image, "sh", "-c",
                "echo named > /named/f; echo anon > /anon/f",
            ])
        try #require(made.status == 0, "\(made)")

        let read = try fixture.skiff(
            "run", ["--rm", "--volumes-from", source, fixture.image, "sh", "-c", "cat /named/f /anon/f /bind/f; touch /bind/x"])
        #expect(read.stdout == "named\nanon\nfrom-host\n", "\(read)")
        #expect(read.status == 1, "the source's read-only bind stays read-only: \(read)")

        let readOnly = try fixture.skiff("run", ["--rm", "--volumes-from", source + ":ro", fixture.image, "touch", "/named/x"])
        #expect(readOnly.status == 1 && readOnly.stderr.contains("Read-only"), "\(readOnly)")
        let writable = try fixture.skiff(
            "run", ["--rm", "--volumes-from", source + ":rw", fixture.image, "sh", "-c", "touch /bind/rw-ok && echo ok"])
        #expect(writable.stdout == "ok\n", "`:rw` overrides the source's ro: \(writable)")
        #expect(FileManager.default.fileExists(atPath: hostDirectory + "/rw-ok"))

        // -v on a destination the source also mounts wins.
        let other = fixture.path + "/other"
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
        try "other\n".write(toFile: other + "/f", atomically: true, encoding: .utf8)
        let overridden = try fixture.skiff(
            "run", ["--rm", "--volumes-from", source, "-v", other + ":/named", fixture.image, "cat", "/named/f"])
        #expect(overridden.stdout == "other\n", "\(overridden)")

        // The shared volume is in use while a container that took it exists.
        let holder = unique("vf-holder")
        #expect(try fixture.skiff("create", ["--name", holder, "--volumes-from", source, fixture.image, "true"]).status == 0)
        #expect(try fixture.skiff("rm", [source]).status == 0)
        let busy = try run([skiffBinary, "--root", fixture.root, "volume", "rm", named], check: false)
        #expect(busy.status != 0 && busy.stderr.contains(holder), "\(busy)")
        let mounts = try fixture.skiff("inspect", ["-f", "{{range .Mounts}}{{.Destination}} {{end}}", holder])
        #expect(mounts.stdout.contains("/named") && mounts.stdout.contains("/anon") && mounts.stdout.contains("/bind"), "\(mounts)")

        let missing = try fixture.skiff("run", ["--rm", "--volumes-from", "no-such-container", fixture.image, "true"])
        #expect(missing.status == 125 && missing.stderr.contains("no-such-container"), "\(missing)")
        let badMode = try fixture.skiff("run", ["--rm", "--volumes-from", holder + ":rx", fixture.image, "true"])
        #expect(badMode.status == 125 && badMode.stderr.contains("ro or rw"), "\(badMode)")
    }

    /// `run -w DIR` where the image has no DIR: made (root's, 0755) as runc and docker make it,
    /// also for another user, under a read-only root, and below a volume.
    @Test func missingWorkdirIsMade() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        for extra in [[], ["-u", "1000:1000"], ["--read-only"]] {
            let ran = try fixture.skiff(
                "run", ["--rm", "-w", "/made/here"] + extra + [fixture.image, "sh", "-c", "pwd; stat -c '%u %a' ."])
            #expect(ran.status == 0 && ran.stdout == "/made/here\n0 755\n", "\(extra): \(ran)")
        }
        let volume = "wd-\(UInt32.random(in: 0...UInt32.max))"
        let inVolume = try fixture.skiff("run", ["--rm", "-v", volume + ":/vol", "-w", "/vol/sub", fixture.image, "pwd"])
        #expect(inVolume.status == 0 && inVolume.stdout == "/vol/sub\n", "\(inVolume)")
        let listed = try fixture.skiff("run", ["--rm", "-v", volume + ":/vol", fixture.image, "ls", "/vol"])
        #expect(listed.stdout == "sub\n", "made in the volume: \(listed)")
    }

    /// `run -a STREAM`: only the named streams reach the client; the log keeps all.
    @Test func attachOnlyNamedStreams() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let script = "echo to-out; echo to-err >&2; exit 3"
        let both = try fixture.skiff("run", ["--rm", fixture.image, "sh", "-c", script])
        #expect(both.status == 3 && both.stdout == "to-out\n" && both.stderr.contains("to-err"), "\(both)")
        let out = try fixture.skiff("run", ["--rm", "-a", "stdout", fixture.image, "sh", "-c", script])
        #expect(out.status == 3 && out.stdout == "to-out\n" && !out.stderr.contains("to-err"), "\(out)")
        let name = unique("att")
        let err = try fixture.skiff("run", ["--name", name, "--attach", "STDERR", fixture.image, "sh", "-c", script])
        #expect(err.status == 3 && err.stdout.isEmpty && err.stderr.contains("to-err"), "\(err)")
        let logs = try fixture.skiff("logs", [name])
        #expect(logs.stdout == "to-out\n" && logs.stderr.contains("to-err"), "the log keeps both streams: \(logs)")
        // stdin with -i: what we pipe in reaches the program.
        let piped = try run(
            ["/bin/sh", "-c", "echo piped | \"$0\" \"$@\""]
                + [
                    skiffBinary, "run", "--root", fixture.root, "--runtime-root", fixture.runtimeRoot, "--rm", "-i", "-a", "stdin", "-a",
                    "stdout", fixture.image, "cat",
                ], check: false)
        #expect(piped.status == 0 && piped.stdout == "piped\n", "\(piped)")
        let conflict = try fixture.skiff("run", ["-d", "-a", "stdout", fixture.image, "true"])
        #expect(conflict.status == 125 && conflict.stderr.contains("-a and -d"), "\(conflict)")
        let bad = try fixture.skiff("run", ["--rm", "-a", "stdweird", fixture.image, "true"])
        #expect(bad.status == 125 && bad.stderr.contains("STDIN, STDOUT and STDERR"), "\(bad)")
    }

    /// A bind source on a shared mount: with rslave a mount made on the host afterwards appears
    /// in the container, with the default (rprivate) it does not; a source that is not on a
    /// shared mount is refused for rslave, as docker does.
    @Test func bindPropagation() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let shared = fixture.path + "/shared"
        try FileManager.default.createDirectory(atPath: shared + "/sub", withIntermediateDirectories: true)
        let notShared = fixture.path + "/plain"
        try FileManager.default.createDirectory(atPath: notShared, withIntermediateDirectories: true)
        try run(["/bin/mount", "--bind", shared, shared])
        defer { _ = try? run(["/bin/umount", "-R", "-l", shared], check: false) }
        try run(["/bin/mount", "--make-shared", shared])

        let slave = unique("prop-slave"), privateName = unique("prop-private"), mountOption = unique("prop-mount")
        for (name, volume) in [(slave, ["-v", shared + ":/v:rslave"]), (privateName, ["-v", shared + ":/v"])] {
            let started = try fixture.skiff("run", ["-d", "--name", name] + volume + [fixture.image, "sleep", "300"])
            try #require(started.status == 0, "\(started)")
        }
        let long = try fixture.skiff(
            "run",
            [
                "-d", "--name", mountOption, "--mount", "type=bind,source=\(shared),target=/v,bind-propagation=rslave", fixture.image,
                "sleep", "300",
            ])
        try #require(long.status == 0, "\(long)")
        let spec = try fixture.skiff("inspect", ["-f", "{{.Id}}", slave]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let config = try String(contentsOfFile: "\(fixture.root)/containers/\(spec)/config.json", encoding: .utf8)
        #expect(config.contains("\"rootfsPropagation\" : \"rslave\"") || config.contains("\"rootfsPropagation\": \"rslave\""), "\(config)")

        try run(["/bin/mount", "-t", "tmpfs", "-o", "size=1m", "prop-test", shared + "/sub"])
        try "on-host-mount\n".write(toFile: shared + "/sub/marker", atomically: false, encoding: .utf8)
        func sees(_ name: String) throws -> Bool {
            try fixture.skiff("exec", [name, "cat", "/v/sub/marker"]).stdout == "on-host-mount\n"
        }
        #expect(try eventually(5) { try sees(slave) }, "rslave: the host's new mount reaches the container")
        #expect(try eventually(5) { try sees(mountOption) }, "--mount bind-propagation=rslave")
        #expect(try !sees(privateName), "rprivate: the host's new mount stays out")

        // rshared: the container starts (its overlay root is a mount point: pivot_root refused the
        // shared copy with EINVAL before) and a host mount made after the start reaches it.
        try FileManager.default.createDirectory(atPath: shared + "/later", withIntermediateDirectories: true)
        let sharing = unique("prop-shared")
        let started = try fixture.skiff(
            "run", ["-d", "--name", sharing, "-v", shared + ":/v:rshared", fixture.image, "sleep", "300"])
        try #require(started.status == 0, "\(started)")
        try run(["/bin/mount", "-t", "tmpfs", "-o", "size=1m", "prop-later", shared + "/later"])
        defer { umount2(shared + "/later", Int32(MNT_DETACH)) }
        try "later\n".write(toFile: shared + "/later/marker", atomically: false, encoding: .utf8)
        #expect(
            try eventually(5) { try fixture.skiff("exec", [sharing, "cat", "/v/later/marker"]).stdout == "later\n" },
            "rshared: the host's new mount reaches the container")

        let refused = try fixture.skiff("run", ["--rm", "-v", notShared + ":/v:rslave", fixture.image, "true"])
        let parentShared = (try? Mounts.table())?.split(separator: "\n").contains {
            $0.split(separator: " ")[4] == "/" && $0.contains("shared:")
        }
        if parentShared != true {
            #expect(refused.status == 125 && refused.stderr.contains("not a shared or slave mount"), "\(refused)")
        }
        let sharedRefused = try fixture.skiff("run", ["--rm", "-v", notShared + ":/v:rshared", fixture.image, "true"])
        if parentShared != true {
            #expect(sharedRefused.status == 125 && sharedRefused.stderr.contains("not a shared mount"), "\(sharedRefused)")
        }
    }

    /// A program that allocates past --memory is killed by the cgroup's OOM killer: exit 137,
    /// State.OOMKilled true, an `oom` event before `die`; a normal exit leaves OOMKilled false.
    func checkOOMKill(_ fixture: EngineFixture, skiff: (String, [String]) throws -> CommandResult) throws {
        let name = unique("oom")
        let ran = try skiff("run", ["--name", name, "-m", "16m", fixture.image, "sh", "-c", "x=0123456789; while :; do x=$x$x; done"])
        #expect(ran.status == 137, "\(ran)")
        let state = try skiff("inspect", ["-f", "{{.State.OOMKilled}} {{.State.ExitCode}}", name])
        #expect(state.stdout == "true 137\n", "\(state)")
        let events = try skiff(
            "events",
            [
                "--since", "0", "--until", String(Int(Date().timeIntervalSince1970) + 1), "--filter", "container=\(name)", "--format",
                "{{.Action}}",
            ])
        let actions = events.stdout.split(separator: "\n").map(String.init)
        #expect(actions.contains("oom") && actions.firstIndex(of: "oom")! < (actions.firstIndex(of: "die") ?? 0), "\(events)")
        let exited = try skiff("ps", ["-a", "--filter", "exited=137", "--format", "{{.Names}}"])
        #expect(exited.stdout.contains(name), "\(exited)")

        // A restart clears it; a normal exit under the same limit is no OOM kill.
        let calm = unique("calm")
        #expect(try skiff("run", ["--name", calm, "-m", "16m", fixture.image, "sh", "-c", "exit 137"]).status == 137)
        #expect(try skiff("inspect", ["-f", "{{.State.OOMKilled}}", calm]).stdout == "false\n")
    }

    @Test func oomKillOnTheHostsHierarchy() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        try checkOOMKill(fixture) { command, arguments in try fixture.skiff(command, arguments) }
    }

    /// The same where the memory controller is on a pure cgroup2 hierarchy (memory.events).
    @Test(
        .enabled(
            if: ((try? String(contentsOfFile: "/sys/fs/cgroup/unified/cgroup.controllers", encoding: .utf8)) ?? "").split(
                whereSeparator: \.isWhitespace
            ).contains("memory"),
            "the host's memory controller is bound to cgroup v1 (not in /sys/fs/cgroup/unified): cgroup2's memory.events cannot be exercised here"
        ))
    func oomKillOnPureCgroup2() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let script = "umount -l /sys/fs/cgroup && mount -t cgroup2 cgroup2 /sys/fs/cgroup && exec \"$0\" \"$@\""
        try checkOOMKill(fixture) { command, arguments in
            try run(
                [
                    "/usr/bin/unshare", "-m", "--propagation", "private", "/bin/sh", "-c", script, skiffBinary, command, "--root",
                    fixture.root,
                    "--runtime-root", fixture.runtimeRoot,
                ] + arguments, check: false)
        }
    }

    /// `system df -v`: docker's three sections with each image's, container's and volume's size.
    @Test func systemDfVerbose() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let name = unique("dfv"), volume = unique("dfvol")
        let ran = try fixture.skiff(
            "run", ["--name", name, "-v", volume + ":/data", fixture.image, "sh", "-c", "head -c 100000 /dev/zero > /data/f; echo x > /y"])
        try #require(ran.status == 0, "\(ran)")
        let table = try run(
            [skiffBinary, "--root", fixture.root, "--runtime-root", fixture.runtimeRoot, "system", "df", "-v"], check: false)
        #expect(table.status == 0, "\(table)")
        // docker's columns (their widths follow the widest cell).
        let collapsed = table.stdout.split(separator: "\n").map { $0.split(separator: " ").joined(separator: " ") }
        for header in [
            "Images space usage:", "REPOSITORY TAG IMAGE ID CREATED SIZE SHARED SIZE UNIQUE SIZE CONTAINERS", "Containers space usage:",
            "CONTAINER ID IMAGE COMMAND LOCAL VOLUMES SIZE CREATED STATUS NAMES", "Local Volumes space usage:", "VOLUME NAME LINKS SIZE",
        ] {
            #expect(collapsed.contains(header), "\(header): \(table.stdout)")
        }
        let volumeLine = table.stdout.split(separator: "\n").first { $0.hasPrefix(volume) }.map(String.init) ?? ""
        #expect(volumeLine.contains(" 1 ") && volumeLine.contains("kB"), "one link, about 100 kB: \(volumeLine)")
        let json = try run(
            [skiffBinary, "--root", fixture.root, "--runtime-root", fixture.runtimeRoot, "system", "df", "-v", "--format", "json"],
            check: false)
        let parsed = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        let volumes = parsed?["Volumes"] as? [[String: Any]] ?? []
        let size = volumes.first { $0["Name"] as? String == volume }?["Size"] as? Int ?? 0
        #expect(size >= 100_000 && size < 200_000, "\(json.stdout)")
        let images = parsed?["Images"] as? [[String: Any]] ?? []
        #expect(images.first?["Containers"] as? Int == 1 && (images.first?["Size"] as? Int ?? 0) > 0, "\(json.stdout)")
        let containers = parsed?["Containers"] as? [[String: Any]] ?? []
        #expect(containers.first?["Names"] as? String == name && containers.first?["LocalVolumes"] as? Int == 1, "\(json.stdout)")
    }

    /// `search REGISTRY/TERM` through a registry's v2 catalog (Debian's docker-registry on
    /// 127.0.0.1); a registry without a catalog and Docker Hub get a clear message and exit 1.
    @Test(
        .enabled(
            if: ["/usr/bin/docker-registry", "/usr/bin/skopeo", "/usr/bin/python3"].allSatisfy {
                FileManager.default.isExecutableFile(atPath: $0)
            },
            "needs docker-registry, skopeo and python3 (scripts/install-deps.sh)"))
    func searchTheCatalog() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let registry = try LoopbackRegistry(directory: fixture.path)
        defer { registry.stop() }
        let port = registry.port
        for repository in ["library/busybox", "tools/busy-box", "other"] {
            #expect(try registry.push("\(repository):1"))
        }
        func search(_ arguments: [String]) throws -> CommandResult {
            try run([skiffBinary, "search"] + arguments, check: false)
        }
        let found = try search(["127.0.0.1:\(port)/BUSY"])
        #expect(found.status == 0, "\(found)")
        let lines = found.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(
            lines.first?.hasPrefix("NAME ") == true && lines.first?.hasSuffix("   DESCRIPTION   STARS   OFFICIAL") == true,
            "\(found.stdout)")
        #expect(
            lines.count == 3 && lines[1].hasPrefix("127.0.0.1:\(port)/library/busybox ") && lines[2].contains("tools/busy-box"),
            "\(found.stdout)")
        let limited = try search(["--limit", "1", "--format", "{{.Name}} {{.StarCount}}", "127.0.0.1:\(port)/"])
        #expect(limited.stdout == "127.0.0.1:\(port)/library/busybox 0\n", "\(limited)")
        let starred = try search(["--filter", "stars=3", "--format", "{{.Name}}", "127.0.0.1:\(port)/busy"])
        #expect(starred.status == 0 && starred.stdout.isEmpty, "a catalog has no stars: \(starred)")
        let hub = try search(["busybox"])
        #expect(hub.status == 1 && hub.stderr.contains("Docker Hub has none"), "\(hub)")
        #expect(try search(["--filter", "colour=red", "127.0.0.1:\(port)/x"]).status == 125)

        // A web server that is no registry with a catalog: 404 for /v2/_catalog.
        let plainPort = freeLoopbackPort()
        let plain = Foundation.Process()
        plain.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        plain.arguments = ["-m", "http.server", "--bind", "127.0.0.1", "--directory", fixture.path, String(plainPort)]
        plain.standardOutput = FileHandle.nullDevice
        plain.standardError = FileHandle.nullDevice
        try plain.run()
        defer {
            kill(plain.processIdentifier, SIGKILL)
            plain.waitUntilExit()
        }
        var none = CommandResult(status: 0, stdout: "", stderr: "")
        #expect(
            try eventually(10) {
                none = try search(["127.0.0.1:\(plainPort)/x"])
                return !none.stderr.contains("connection refused")
            })
        #expect(none.status == 1 && none.stderr.contains("does not list its repositories"), "\(none)")
    }
}

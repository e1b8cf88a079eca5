import Foundation
import Testing

/// --ulimit, --tmpfs, --label, --stop-signal, volumes (named, anonymous, the image's), checked
/// from inside the container and through inspect, ps and volume commands.
@Suite(.serialized, .enabled(if: engineTestsEnabled, skipReason))
struct RunOptionTests {
    /// Absurd sizes are refused with docker's exit code and a message, never a trap on overflow;
    /// docker's decimal sizes are taken.
    @Test func absurdSizesAreRefusedAndDecimalOnesTaken() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        for options in [
            ["-m", "99999999999g"], ["--shm-size", "99999999999g"], ["--mount", "type=tmpfs,target=/t,tmpfs-size=99999999999g"],
        ] {
            let r = try fixture.skiff("run", ["--rm", "--network", "none"] + options + [fixture.image, "true"])
            #expect(r.status == 125 && r.stderr.contains("99999999999g"), "\(options): \(r)")
        }
        let decimal = try fixture.skiff("run", ["--rm", "--network", "none", "-m", "1.5g", fixture.image, "true"])
        #expect(decimal.status == 0, "\(decimal)")
    }

    @Test func ulimitsAndTmpfs() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let result = try fixture.skiff(
            "run",
            [
                "--rm", "--ulimit", "nofile=100:200", "--ulimit", "core=0", "--tmpfs", "/scratch:size=1m,mode=700", "--tmpfs", "/fast:exec",
                fixture.image, "sh", "-c", "ulimit -n; ulimit -Hn; ulimit -c; busybox grep -E ' /(scratch|fast) ' /proc/mounts",
            ])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(Array(lines.prefix(3)) == ["100", "200", "0"], "\(result.stdout)")
        let scratch = lines.first { $0.contains(" /scratch ") } ?? ""
        #expect(scratch.hasPrefix("tmpfs /scratch tmpfs rw,nosuid,nodev,noexec"), "\(scratch)")
        #expect(scratch.contains("size=1024k") && scratch.contains("mode=700"), "\(scratch)")
        let fast = lines.first { $0.contains(" /fast ") } ?? ""
        #expect(fast.contains("tmpfs") && !fast.contains("noexec"), "\(fast)")

        // --mount, the long form: a tmpfs and a bind.
        try FileManager.default.createDirectory(atPath: fixture.path + "/bound", withIntermediateDirectories: true)
        try "b\n".write(toFile: fixture.path + "/bound/f", atomically: true, encoding: .utf8)
        let mounted = try fixture.skiff(
            "run",
            [
                "--rm", "--mount", "type=tmpfs,target=/m,tmpfs-size=2m",
                "--mount", "type=bind,source=\(fixture.path)/bound,target=/b,readonly",
                fixture.image, "sh", "-c", "busybox grep ' /m ' /proc/mounts; cat /b/f; touch /b/g 2>/dev/null || echo ro",
            ])
        #expect(mounted.stdout.contains("tmpfs /m tmpfs") && mounted.stdout.contains("size=2048k"), "\(mounted.stdout)\(mounted.stderr)")
        #expect(mounted.stdout.hasSuffix("b\nro\n"), "\(mounted.stdout)")
        #expect(try fixture.skiff("run", ["--rm", "--mount", "type=bind,target=/x", fixture.image, "true"]).status == 125)
    }

    @Test func labelsStopSignalAndImageMetadata() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let run = try fixture.skiff(
            "run",
            [
                "-d", "--name", "lab", "--label", "tier=web", "-l", "team=ops", "--stop-signal", "USR1",
                fixture.image, "sh", "-c", "trap 'exit 7' USR1; while :; do sleep 0.1; done",
            ])
        #expect(run.status == 0, "\(run.stderr)")
        let other = try fixture.skiff("run", ["-d", "--name", "plain", fixture.image, "sleep", "30"])
        #expect(other.status == 0)
        #expect(try fixture.skiff("ps", ["--filter", "label=tier=web", "--format", "json"]).stdout.contains("\"lab\""))
        #expect(try fixture.skiff("ps", ["-q", "--filter", "label=tier"]).stdout == String(run.stdout.prefix(12)) + "\n")
        #expect(try fixture.skiff("ps", ["-q", "--filter", "label=tier=db"]).stdout.isEmpty)
        #expect(try fixture.skiff("ps", ["--filter", "bogus=1"]).status == 125)
        let inspect = try fixture.skiff("inspect", ["lab"]).stdout
        let config =
            (((try JSONSerialization.jsonObject(with: Data(inspect.utf8)) as? [[String: Any]])?.first)?["Config"]) as? [String: Any]
        #expect(config?["Labels"] as? [String: String] == ["tier": "web", "team": "ops"])
        #expect(config?["StopSignal"] as? String == "USR1")
        // stop sends the stop signal: the trap exits with 7 (SIGTERM would have been ignored by PID 1).
        #expect(try fixture.skiff("stop", ["-t", "5", "lab"]).status == 0)
        #expect(try fixture.skiff("wait", ["lab"]).stdout == "7\n")
        _ = try fixture.skiff("rm", ["-f", "plain"])
    }

    @Test func namedVolumesPersistAndAreProtected() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let volume = "vol-\(UUID().uuidString.prefix(8).lowercased())"
        // Made on first use, data outlives the container.
        #expect(try fixture.skiff("run", ["--rm", "-v", volume + ":/v", fixture.image, "sh", "-c", "echo kept > /v/f"]).status == 0)
        let read = try fixture.skiff(
            "run", ["--rm", "-v", volume + ":/v:ro", fixture.image, "sh", "-c", "cat /v/f; touch /v/g 2>/dev/null || echo ro"])
        #expect(read.stdout == "kept\nro\n", "\(read.stdout)\(read.stderr)")
        #expect(try fixture.skiffGroup("volume", "ls", ["-q"]).stdout == volume + "\n")

        // volume create/inspect; in use: cannot be removed.
        #expect(try fixture.skiffGroup("volume", "create", ["--label", "k=v", "made-" + volume]).stdout == "made-\(volume)\n")
        let inspect = try fixture.skiffGroup("volume", "inspect", ["made-" + volume]).stdout
        let views = try JSONSerialization.jsonObject(with: Data(inspect.utf8)) as? [[String: Any]]
        #expect(views?.first?["Labels"] as? [String: String] == ["k": "v"])
        let mountpoint = views?.first?["Mountpoint"] as? String ?? ""
        #expect(mountpoint.hasPrefix(fixture.root + "/volumes/") && FileManager.default.fileExists(atPath: mountpoint))
        let user = try fixture.skiff("run", ["-d", "--name", "user", "-v", volume + ":/v", fixture.image, "sleep", "30"])
        #expect(user.status == 0, "\(user.stderr)")
        #expect(try fixture.skiffGroup("volume", "ls", ["-q", "--filter", "dangling=true"]).stdout == "made-\(volume)\n")
        #expect(try fixture.skiffGroup("volume", "ls", ["-q", "--filter", "dangling=false"]).stdout == "\(volume)\n")
        #expect(try fixture.skiffGroup("volume", "ls", ["-q", "--filter", "label=k=v"]).stdout == "made-\(volume)\n")
        #expect(try fixture.skiffGroup("volume", "ls", ["--filter", "size=1"]).status == 125)
        let busy = try fixture.skiffGroup("volume", "rm", [volume])
        #expect(busy.status != 0 && busy.stderr.contains("in use"), "\(busy.stderr)")
        #expect(try fixture.skiff("rm", ["-f", "user"]).status == 0)
        #expect(try fixture.skiffGroup("volume", "rm", [volume, "made-" + volume]).status == 0)
        #expect(try fixture.skiffGroup("volume", "ls", ["-q"]).stdout.isEmpty)
        #expect(try fixture.skiffGroup("volume", "rm", ["no-such-volume"]).status != 0)
        #expect(try fixture.skiffGroup("volume", "inspect", ["no-such-volume"]).status == 125)
        #expect(try fixture.skiff("run", ["--rm", "-v", "b@d:/v", fixture.image, "true"]).status == 125)
        // A create that fails after the volume was made takes the new volume back.
        let failed = try fixture.skiff("run", ["--rm", "-v", "fresh-" + volume + ":/v", "-u", "nobody", fixture.image, "true"])
        #expect(failed.status == 125 && failed.stderr.contains("nobody"))
        let noCommand = try fixture.skiff("create", ["-v", "fresh-" + volume + ":/v", "--entrypoint", "", fixture.image])
        #expect(noCommand.status == 125, "\(noCommand.stderr)")
        #expect(try fixture.skiffGroup("volume", "ls", ["-q"]).stdout.isEmpty)
        #expect(fixture.containerIDs().isEmpty)
    }

    @Test func imageVolumesBecomeAnonymousVolumes() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let image = try fixture.loadVolumeImage()
        // The image's /data becomes a volume seeded with the image's files.
        let id = try fixture.skiff("run", ["-d", image, "sleep", "30"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(!id.isEmpty)
        #expect(try fixture.skiff("exec", [id, "cat", "/data/seed"]).stdout == "seed\n")
        #expect(try fixture.skiff("exec", [id, "busybox", "grep", "-c", " /data ", "/proc/mounts"]).stdout == "1\n")
        let anonymous = try fixture.skiffGroup("volume", "ls", ["-q"]).stdout.split(separator: "\n")
        #expect(anonymous.count == 1 && anonymous.first?.count == 64)
        let inspect = try fixture.skiff("inspect", [id]).stdout
        #expect(inspect.contains("\"8080/tcp\""), "the image's ExposedPorts are recorded")
        #expect(inspect.contains("\"Type\": \"volume\""))
        // rm without -v keeps it; rm -v removes it.
        #expect(try fixture.skiff("rm", ["-f", id]).status == 0)
        #expect(try fixture.skiffGroup("volume", "ls", ["-q"]).stdout.split(separator: "\n").count == 1)
        #expect(try fixture.skiffGroup("volume", "prune", ["-f"]).status == 0)
        #expect(try fixture.skiffGroup("volume", "ls", ["-q"]).stdout.isEmpty)
        let second = try fixture.skiff("create", [image, "true"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try fixture.skiffGroup("volume", "ls", ["-q"]).stdout.split(separator: "\n").count == 1)
        #expect(try fixture.skiff("rm", ["-v", second]).status == 0)
        #expect(try fixture.skiffGroup("volume", "ls", ["-q"]).stdout.isEmpty)
        // An empty named volume mounted there is seeded too; one with data is left alone.
        #expect(try fixture.skiffGroup("volume", "create", ["seeded"]).status == 0)
        #expect(
            try fixture.skiff("run", ["--rm", "-v", "seeded:/data", image, "sh", "-c", "cat /data/seed; echo mine > /data/seed"]).stdout
                == "seed\n")
        #expect(try fixture.skiff("run", ["--rm", "-v", "seeded:/data", image, "cat", "/data/seed"]).stdout == "mine\n")
        #expect(try fixture.skiffGroup("volume", "rm", ["seeded"]).status == 0)
        // --rm takes the anonymous volume with it; a -v over the image's volume replaces it.
        #expect(try fixture.skiff("run", ["--rm", image, "true"]).status == 0)
        #expect(try eventually { try fixture.skiffGroup("volume", "ls", ["-q"]).stdout.isEmpty })
        try FileManager.default.createDirectory(atPath: fixture.path + "/hostdata", withIntermediateDirectories: true)
        let bound = try fixture.skiff("run", ["--rm", "-v", fixture.path + "/hostdata:/data", image, "ls", "/data"])
        #expect(bound.stdout.isEmpty)
        #expect(try fixture.skiffGroup("volume", "ls", ["-q"]).stdout.isEmpty)
    }
}

extension EngineFixture {
    /// Loads a variant of the busybox image with Volumes ["/data"] (holding /data/seed),
    /// ExposedPorts 8080/tcp; returns its name.
    func loadVolumeImage() throws -> String {
        let archive = try busyboxArchive.get()
        let work = path + "/volimage"
        try shell(
            """
            mkdir -p \(work)/layout && cd \(work) && tar -C layout -xf \(archive)
            umoci unpack --image layout:bb bundle >/dev/null
            mkdir -p bundle/rootfs/data && echo seed > bundle/rootfs/data/seed
            umoci repack --image layout:bb bundle
            umoci config --image layout:bb --tag vol --config.volume /data --config.exposedports 8080/tcp
            tar -C layout -cf vol.tar . && rm -rf bundle layout
            """)
        try run([skiffBinary, "load", "--root", root, "-i", work + "/vol.tar"])
        return "localhost/loaded:vol"
    }
}

extension EngineFixture {
    /// `skiff <group> <command> --root ... --runtime-root ... <arguments>` (volume, system, container).
    @discardableResult
    func skiffGroup(_ group: String, _ command: String, _ arguments: [String], check: Bool = false) throws -> CommandResult {
        try run([skiffBinary, group, command, "--root", root, "--runtime-root", runtimeRoot] + arguments, check: check)
    }
}

import Foundation
import Testing

/// `skiff run` in the foreground: output, docker's exit codes, and each option checked from inside.
@Suite(.serialized, .enabled(if: engineTestsEnabled, skipReason))
struct RunTests {
    @Test func foregroundOutputAndExitCodes() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let hello = try fixture.skiff("run", ["--rm", fixture.image, "echo", "hello"])
        #expect(hello.status == 0, "\(hello.stderr)")
        #expect(hello.stdout == "hello\n")

        let mixed = try fixture.skiff("run", ["--rm", fixture.image, "sh", "-c", "echo out; echo err >&2; exit 3"])
        #expect(mixed.status == 3)
        #expect(mixed.stdout == "out\n")
        #expect(mixed.stderr == "err\n")

        let notFound = try fixture.skiff("run", ["--rm", fixture.image, "no-such-program"])
        #expect(notFound.status == 127)
        #expect(notFound.stderr.contains("no-such-program"))
        let notExecutable = try fixture.skiff("run", ["--rm", fixture.image, "/etc"])
        #expect(notExecutable.status == 126)
        let badOption = try fixture.skiff("run", ["--rm", "--network", "no-such-net", fixture.image, "true"])
        #expect(badOption.status == 125)
        #expect(badOption.stderr.contains("no-such-net"))
        let badVolume = try fixture.skiff("run", ["--rm", "-v", fixture.path + "/missing:/x", fixture.image, "true"])
        #expect(badVolume.status == 125)
        let badUser = try fixture.skiff("run", ["--rm", "-u", "nobody", fixture.image, "true"])
        #expect(badUser.status == 125)
        #expect(badUser.stderr.contains("nobody"))
        // (PID 1 ignores a SIGKILL from inside its namespace: a child is killed instead.)
        let killed = try fixture.skiff("run", ["--rm", fixture.image, "sh", "-c", "sh -c 'kill -9 $$'; exit $?"])
        #expect(killed.status == 137)
        // --rm left nothing behind, not even for the failed starts.
        #expect(eventually { fixture.containerIDs().isEmpty }, "\(fixture.containerIDs())")
        // The monitor finishes the network teardown (the namespace mount) right after the removal.
        #expect(eventually { fixture.mountsUnderFixture().isEmpty }, "\(fixture.mountsUnderFixture())")
    }

    @Test func imageConfigAndOptionsSeenFromInside() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        // The image's Cmd (sh) and WorkingDir (/home/app) apply without arguments.
        let defaults = try fixture.skiff("run", ["--rm", fixture.image, "-c", "pwd"], check: false)
        #expect(defaults.status == 127)  // `-c` replaces Cmd: it is not an argument to sh
        let pwd = try fixture.skiff("run", ["--rm", fixture.image, "pwd"])
        #expect(pwd.stdout == "/home/app\n")

        try FileManager.default.createDirectory(atPath: fixture.path + "/vol", withIntermediateDirectories: true)
        try "data\n".write(toFile: fixture.path + "/vol/f", atomically: true, encoding: .utf8)
        try "FROM_FILE=yes\n# comment\n".write(toFile: fixture.path + "/env", atomically: true, encoding: .utf8)
        let script = """
            echo "env=$A $FROM_FILE $HOME $HOSTNAME"; pwd; hostname; id
            cat /v/f; echo x > /v/g 2>/dev/null || echo volume-ro
            touch /rootfile 2>/dev/null || echo rootfs-ro
            cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.cfs_quota_us
            """
        let result = try fixture.skiff(
            "run",
            [
                "--rm", "-e", "A=1", "--env-file", fixture.path + "/env", "-w", "/tmp", "-u", "app", "--hostname", "box",
                "-v", fixture.path + "/vol:/v:ro", "--read-only", "--memory", "64m", "--pids-limit", "20", "--cpus", "0.5",
                "--entrypoint", "/bin/sh", fixture.image, "-c", script,
            ])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(
            lines == [
                "env=1 yes /home/app box", "/tmp", "box", "uid=1000(app) gid=1000(app) groups=2000(extra)",
                "data", "volume-ro", "rootfs-ro", "67108864", "20", "50000",
            ], "\(result.stdout)\(result.stderr)")

        // Without --read-only the overlay is writable; without -u, root.
        let writable = try fixture.skiff(
            "run", ["--rm", fixture.image, "sh", "-c", "touch /rootfile && id -u && cat /proc/1/status | grep CapEff"])
        #expect(writable.stdout.hasPrefix("0\nCapEff:\t00000000a80425fb"), "\(writable.stdout)")
        // docker's masked paths (/proc/timer_list reads as empty) and read-only paths (/proc/sys).
        let masked = try fixture.skiff(
            "run",
            [
                "--rm", fixture.image, "sh", "-c",
                "busybox wc -c < /proc/timer_list; echo x > /proc/sys/kernel/hostname 2>/dev/null || echo ro",
            ])
        #expect(masked.stdout == "0\nro\n", "\(masked.stdout)\(masked.stderr)")
    }

    @Test func networkNoneAndHost() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let none = try fixture.skiff("run", ["--rm", "--network", "none", fixture.image, "sh", "-c", "ls /sys/class/net"])
        #expect(none.stdout == "lo\n")
        // --network host: the host's own network namespace (interfaces come and go with other tests).
        let hostNamespace = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/net")
        let host = try fixture.skiff("run", ["--rm", "--network", "host", fixture.image, "readlink", "/proc/self/ns/net"])
        #expect(host.stdout == hostNamespace + "\n")
    }
}

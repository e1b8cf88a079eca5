import Foundation
import Testing

/// skiff-runtime driven by the tools that drive runc: podman (through conmon) and containerd
/// (through its runc shim with BinaryName). Each test owns its storage, state and sockets.
@Suite(.enabled(if: TestEnvironment.canRunContainers, "needs root and busybox-static: run scripts/test.sh as root"))
struct PeerDriverTests {
    static let hasPodman = FileManager.default.isExecutableFile(atPath: "/usr/bin/podman")
    static let hasContainerd =
        FileManager.default.isExecutableFile(atPath: "/usr/bin/containerd")
        && FileManager.default.isExecutableFile(atPath: "/usr/bin/ctr") && FileManager.default.isExecutableFile(atPath: "/usr/bin/umoci")

    /// A directory with a busybox root filesystem (the image content both peers run).
    static func makeRootfs(in dir: String) throws -> String {
        let rootfs = dir + "/rootfs"
        try FileManager.default.createDirectory(atPath: rootfs + "/bin", withIntermediateDirectories: true)
        try TestEnvironment.installBusybox(at: rootfs + "/bin/busybox")
        for tool in ["sh", "echo", "cat", "id", "hostname", "ls", "sleep", "test"] {
            try FileManager.default.createSymbolicLink(atPath: rootfs + "/bin/" + tool, withDestinationPath: "busybox")
        }
        return rootfs
    }

    @Test(.enabled(if: PeerDriverTests.hasPodman, "podman is not installed"))
    func podmanRunsContainersWithSkiffRuntime() throws {
        let dir = NSTemporaryDirectory() + TestEnvironment.uniqueName("podman")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let image = "localhost/" + TestEnvironment.uniqueName("bb")
        let env = ["CONTAINERS_CONF": dir + "/containers.conf", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"]
        let podman = ["--root", dir + "/storage", "--runroot", dir + "/run", "--runtime", TestEnvironment.runtimeBinary]
        defer {
            _ = try? Command.run("/usr/bin/podman", podman + ["rm", "-a", "-f"], env: env)
            _ = try? Command.run("/usr/bin/podman", podman + ["system", "reset", "-f"], env: env)
            _ = try? Command.run("/bin/umount", ["-R", dir + "/storage"])
            try? FileManager.default.removeItem(atPath: dir)
        }
        try """
        [containers]
        default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
        [engine]
        cgroup_manager = "cgroupfs"
        events_logger = "file"
        """.write(toFile: dir + "/containers.conf", atomically: true, encoding: .utf8)
        let rootfs = try Self.makeRootfs(in: dir)
        let tar = try Command.run("/bin/tar", ["-C", rootfs, "-cf", dir + "/rootfs.tar", "."])
        try #require(tar.code == 0)
        let imported = try Command.run("/usr/bin/podman", podman + ["import", dir + "/rootfs.tar", image], env: env)
        try #require(imported.code == 0, "\(imported)")

        let run = try Command.run(
            "/usr/bin/podman", podman + ["run", "--rm", "--network", "none", image, "sh", "-c", "echo hello from podman; exit 5"], env: env)
        #expect(run.out.contains("hello from podman"), "\(run)")
        #expect(run.code == 5)

        let name = TestEnvironment.uniqueName("pod")
        let started = Date()
        let detached = try Command.run(
            "/usr/bin/podman", podman + ["run", "-d", "--network", "none", "--name", name, image, "sleep", "30"], env: env)
        try #require(detached.code == 0, "\(detached)")
        #expect(Date().timeIntervalSince(started) < 10, "podman run -d returned only after the container exited")
        let exec = try Command.run("/usr/bin/podman", podman + ["exec", name, "sh", "-c", "echo exec-ok; cat /proc/1/cmdline"], env: env)
        let inspect = try Command.run(
            "/usr/bin/podman", podman + ["inspect", name, "--format", "{{.State.Status}} {{.State.ExitCode}} {{.State.Error}}"], env: env)
        let logs = try Command.run("/usr/bin/podman", podman + ["logs", name], env: env)
        #expect(exec.out.hasPrefix("exec-ok\nsleep"), "\(exec) \(inspect) \(logs)")
        let tty = try Command.run("/usr/bin/podman", podman + ["exec", "-t", name, "sh", "-c", "test -t 1 && echo tty"], env: env)
        #expect(tty.out.contains("tty"), "\(tty)")
        let removed = try Command.run("/usr/bin/podman", podman + ["rm", "-f", "-t", "0", name], env: env)
        #expect(removed.code == 0, "\(removed)")
    }

    @Test(.enabled(if: PeerDriverTests.hasContainerd, "containerd, ctr or umoci is not installed"))
    func containerdRunsContainersWithSkiffRuntime() throws {
        let dir = NSTemporaryDirectory() + TestEnvironment.uniqueName("ctrd")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let socket = dir + "/containerd.sock"
        try """
        version = 2
        root = "\(dir)/root"
        state = "\(dir)/state"
        [grpc]
          address = "\(socket)"
        [ttrpc]
          address = "\(socket).ttrpc"
        [plugins."io.containerd.grpc.v1.cri"]
          disable_cgroup = true
        """.write(toFile: dir + "/config.toml", atomically: true, encoding: .utf8)

        // The image: an OCI layout made with umoci from the busybox root filesystem.
        let layout = dir + "/layout"
        try #require(try Command.run("/usr/bin/umoci", ["init", "--layout", layout]).code == 0)
        try #require(try Command.run("/usr/bin/umoci", ["new", "--image", layout + ":bb"]).code == 0)
        try #require(try Command.run("/usr/bin/umoci", ["unpack", "--image", layout + ":bb", dir + "/bundle"]).code == 0)
        try FileManager.default.removeItem(atPath: dir + "/bundle/rootfs")
        _ = try Self.makeRootfs(in: dir + "/bundle")
        try #require(try Command.run("/usr/bin/umoci", ["repack", "--image", layout + ":bb", dir + "/bundle"]).code == 0)
        try #require(try Command.run("/bin/tar", ["-C", layout, "-cf", dir + "/image.tar", "."]).code == 0)

        let daemon = Foundation.Process()
        daemon.executableURL = URL(fileURLWithPath: "/usr/bin/containerd")
        daemon.arguments = ["--config", dir + "/config.toml"]
        daemon.standardOutput = FileHandle.nullDevice
        daemon.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try daemon.run()
        let ctr = ["-a", socket]
        let task = TestEnvironment.uniqueName("t")
        defer {
            _ = try? Command.run("/usr/bin/ctr", ctr + ["task", "kill", "-s", "KILL", task])
            _ = try? Command.run("/usr/bin/ctr", ctr + ["task", "rm", "-f", task])
            _ = try? Command.run("/usr/bin/ctr", ctr + ["container", "rm", task])
            daemon.terminate()
            daemon.waitUntilExit()
            _ = try? Command.run("/bin/umount", ["-R", dir + "/root"])
            try? FileManager.default.removeItem(atPath: dir)
        }
        var ready = false
        for _ in 0..<100 where !ready {
            ready = (try? Command.run("/usr/bin/ctr", ctr + ["version"]))?.code == 0
            if !ready { usleep(100_000) }
        }
        try #require(ready, "containerd did not start")
        let imported = try Command.run("/usr/bin/ctr", ctr + ["images", "import", "--base-name", "skiff/bb", dir + "/image.tar"])
        try #require(imported.code == 0, "\(imported)")

        let run = try Command.run(
            "/usr/bin/ctr",
            ctr + [
                "run", "--rm", "--runc-binary", TestEnvironment.runtimeBinary,
                "skiff/bb:bb", task, "sh", "-c", "echo hello from containerd; exit 3",
            ])
        #expect(run.out.contains("hello from containerd"), "\(run)")
        #expect(run.code == 3)

        let detached = try Command.run(
            "/usr/bin/ctr",
            ctr + [
                "run", "-d", "--runc-binary", TestEnvironment.runtimeBinary,
                "skiff/bb:bb", task, "sleep", "30",
            ])
        try #require(detached.code == 0, "\(detached)")
        let exec = try Command.run("/usr/bin/ctr", ctr + ["task", "exec", "--exec-id", "e1", task, "sh", "-c", "echo exec-in-containerd"])
        #expect(exec.out.contains("exec-in-containerd"), "\(exec)")
        let tasks = try Command.run("/usr/bin/ctr", ctr + ["task", "ls"])
        #expect(tasks.out.contains("RUNNING"), "\(tasks)")
        // exec with a terminal: ctr wants one of its own, so it runs under script(1)'s pty.
        let tty = try Command.run(
            "/usr/bin/script",
            [
                "-qec",
                (ctr + ["task", "exec", "-t", "--exec-id", "e2", task, "sh", "-c", "tty && echo on-a-tty"])
                    .reduce("/usr/bin/ctr") { $0 + " '" + $1 + "'" }, "/dev/null",
            ])
        #expect(tty.out.contains("/dev/pts/") && tty.out.contains("on-a-tty"), "\(tty)")
        let ps = try Command.run("/usr/bin/ctr", ctr + ["task", "ps", task])
        #expect(ps.code == 0 && ps.out.split(separator: "\n").count >= 2, "\(ps)")
        func status() throws -> String {
            let line = try Command.run("/usr/bin/ctr", ctr + ["task", "ls"]).out.split(separator: "\n").first { $0.hasPrefix(task) }
            return line.map { String($0.split(separator: " ", omittingEmptySubsequences: true).last ?? "") } ?? ""
        }
        #expect(try Command.run("/usr/bin/ctr", ctr + ["task", "pause", task]).code == 0)
        #expect(try status() == "PAUSED")
        #expect(try Command.run("/usr/bin/ctr", ctr + ["task", "resume", task]).code == 0)
        #expect(try status() == "RUNNING")
        // SIGKILL: the container's PID 1 (sleep) has no handler for SIGTERM, which PID 1 then ignores.
        #expect(try Command.run("/usr/bin/ctr", ctr + ["task", "kill", "-s", "KILL", task]).code == 0)
        #expect(try Poll.until(seconds: 10) { try status() == "STOPPED" })
        #expect(try Command.run("/usr/bin/ctr", ctr + ["task", "rm", task]).code == 0)
        #expect(try Command.run("/usr/bin/ctr", ctr + ["container", "rm", task]).code == 0)

        // The path a Kubernetes RuntimeClass takes: containerd's runc shim (io.containerd.runc.v2)
        // with skiff-runtime as the BinaryName of its options (what the CRI plugin's
        // runtimes.NAME.options.BinaryName sets; ctr sets the same field from --runc-binary and
        // ignores --runtime-config-path for this shim). A wrapper logs each call, so the test
        // knows skiff-runtime, not runc, ran the container.
        let wrapper = dir + "/skiff-runtime-wrapper"
        try "#!/bin/sh\necho \"$*\" >> \(dir)/calls\nexec \(TestEnvironment.runtimeBinary) \"$@\"\n"
            .write(toFile: wrapper, atomically: true, encoding: .utf8)
        chmod(wrapper, 0o755)
        let viaShim = try Command.run(
            "/usr/bin/ctr",
            ctr + [
                "run", "--rm", "--runtime", "io.containerd.runc.v2", "--runc-binary", wrapper,
                "skiff/bb:bb", task + "-shim", "sh", "-c", "echo through the shim; exit 5",
            ])
        #expect(viaShim.out.contains("through the shim") && viaShim.code == 5, "\(viaShim)")
        let calls = (try? String(contentsOfFile: dir + "/calls", encoding: .utf8)) ?? ""
        #expect(calls.contains("create") && calls.contains("start") && calls.contains("delete"), "\(calls)")
    }
}

import ContainerRuntime
import Foundation
import LinuxSupport
import OCISpec
import Testing

/// create / start / state / kill / delete / list / ps / exec, hooks and the console socket.
@Suite(.enabled(if: TestEnvironment.canRunContainers, "needs root and busybox-static: run scripts/test.sh as root"))
struct LifecycleTests {
    @Test func createStartKillDelete() throws {
        let b = try TestBundle("life")
        b.shell("sleep 30")
        let pidFile = b.dir + "/pid"
        try #require(try b.create(extra: ["--pid-file", pidFile]).code == 0)
        let created = try #require(try b.state())
        #expect(created.status == .created)
        #expect(created.pid.map(String.init) == (try? String(contentsOfFile: pidFile, encoding: .utf8)))
        #expect(created.bundle == b.dir || created.bundle.hasSuffix(b.dir))
        #expect(try b.runtime(["create", "--bundle", b.dir, b.id]).err.contains("already exists"))
        #expect(try b.runtime(["start", b.id]).code == 0)
        #expect(try b.state()?.status == .running)

        let list = try b.runtime(["list", "--format", "json"])
        #expect(list.out.contains("\"id\":\"\(b.id)\""), "\(list)")
        let ps = try b.runtime(["ps", "--format", "json", b.id])
        #expect(ps.out.contains("\(created.pid ?? -1)"), "\(ps)")

        let deleteRunning = try b.runtime(["delete", b.id])
        #expect(deleteRunning.code != 0 && deleteRunning.err.contains("running"))
        #expect(try b.runtime(["kill", b.id, "KILL"]).code == 0)
        for _ in 0..<100 where try b.state()?.status != .stopped { usleep(20_000) }
        #expect(try b.state()?.status == .stopped)
        #expect(try b.runtime(["delete", b.id]).code == 0)
        #expect(try b.state() == nil)
        #expect(b.cgroupDirectories.allSatisfy { !FileManager.default.fileExists(atPath: $0) })
    }

    @Test func unknownContainerAndBadID() throws {
        let b = try TestBundle("unknown")
        let r = try b.runtime(["state", "does-not-exist"])
        #expect(r.code != 0 && r.err.contains("does not exist"))
        let bad = try b.runtime(["create", "--bundle", b.dir, "../escape"])
        #expect(bad.code != 0 && bad.err.contains("invalid container id"))
    }

    @Test func execJoinsTheContainer() throws {
        let b = try TestBundle("exec")
        b.spec.hostname = "exec-host"
        b.shell("sleep 30")
        try #require(try b.create().code == 0)
        try #require(try b.runtime(["start", b.id]).code == 0)
        let r = try b.runtime([
            "exec", "--env", "EXTRA=1", "--cwd", "/tmp", b.id, "sh", "-c", "hostname; echo $EXTRA; pwd; ps | grep -c sleep; exit 4",
        ])
        #expect(r.code == 4, "\(r)")
        #expect(r.out.hasPrefix("exec-host\n1\n/tmp\n"), "\(r)")
        let missing = try b.runtime(["exec", b.id, "nope-not-here"])
        #expect(missing.code != 0 && missing.err.contains("executable file not found"), "\(missing)")
        let process = b.dir + "/process.json"
        try #"{"user":{"uid":99,"gid":99},"args":["id","-u"],"cwd":"/","env":["PATH=/bin"]}"#.write(
            toFile: process, atomically: true, encoding: .utf8)
        let viaFile = try b.runtime(["exec", "--process", process, b.id])
        #expect(viaFile.out == "99\n", "\(viaFile)")
    }

    @Test func hooksRunInOrderWithState() throws {
        let b = try TestBundle("hooks")
        let log = b.dir + "/hooks.log"
        func hook(_ name: String) -> Hook {
            Hook(path: "/bin/sh", args: ["sh", "-c", "read -r state; echo \(name) >> \(log); echo \"$state\" >> \(log).json"])
        }
        b.spec.hooks = Hooks(
            prestart: [hook("prestart")], createRuntime: [hook("createRuntime")],
            createContainer: [hook("createContainer")], startContainer: [hook("startContainer")],
            poststart: [hook("poststart")], poststop: [hook("poststop")])
        // createContainer and startContainer run inside the container: give them the host paths.
        b.spec.mounts?.append(Mount(destination: b.dir, type: "bind", source: b.dir, options: ["bind"]))
        try FileManager.default.createDirectory(atPath: b.dir + "/rootfs/bin", withIntermediateDirectories: true)
        b.shell("true")
        let r = try b.run()
        #expect(r.code == 0, "\(r)")
        let order = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(order == "prestart\ncreateRuntime\ncreateContainer\nstartContainer\npoststart\npoststop\n", "\(order) \(r)")
        let states = (try? String(contentsOfFile: log + ".json", encoding: .utf8)) ?? ""
        #expect(states.contains("\"id\":\"\(b.id)\""))
        #expect(states.contains("\"status\":\"created\"") && states.contains("\"status\":\"stopped\""))
        #expect(!states.contains("\"status\":\"creating\""), "\(states)")
    }

    /// prestart and createRuntime hooks get the state with status "created" (the runtime spec's
    /// state once create's environment exists; runtime-tools' hooks_stdin checks it for prestart,
    /// crun passes it to both) and init's pid as the runtime sees it.
    @Test func runtimeHooksGetCreatedState() throws {
        let b = try TestBundle("hookstate")
        func hook(_ name: String) -> Hook {
            Hook(path: "/bin/sh", args: ["sh", "-c", "cat > \(b.dir)/\(name).json"])
        }
        b.spec.hooks = Hooks(prestart: [hook("prestart")], createRuntime: [hook("createRuntime")])
        b.shell("true")
        let r = try b.create()
        #expect(r.code == 0, "\(r)")
        let pid = try #require(b.state()?.pid)
        for name in ["prestart", "createRuntime"] {
            let data = try Data(contentsOf: URL(fileURLWithPath: b.dir + "/\(name).json"))
            let state = try JSONDecoder().decode(State.self, from: data)
            #expect(state.status == .created, "\(name): \(String(decoding: data, as: UTF8.self))")
            #expect(state.id == b.id && state.pid == pid && state.bundle == b.dir, "\(name): \(state)")
        }
    }

    /// A failing poststart or poststop hook is a warning: the hooks after it still run and the
    /// lifecycle goes on (runtime-tools' poststart_fail and poststop_fail).
    @Test func failingPoststartAndPoststopHooksDoNotStopTheOthers() throws {
        let b = try TestBundle("hookwarn")
        let log = b.dir + "/after.log"
        func after(_ name: String) -> Hook { Hook(path: "/bin/sh", args: ["sh", "-c", "echo \(name) >> \(log)"]) }
        let failing = Hook(path: "/bin/false", args: ["false"])
        b.spec.hooks = Hooks(poststart: [failing, after("poststart")], poststop: [failing, after("poststop")])
        b.shell("true")
        let r = try b.run()
        #expect(
            r.code == 0 && r.err.contains("poststart hook /bin/false failed") && r.err.contains("poststop hook /bin/false failed"), "\(r)")
        let order = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(order == "poststart\npoststop\n", "\(order) \(r)")
        #expect(!FileManager.default.fileExists(atPath: b.root + "/" + b.id))
    }

    @Test func failingOrSlowHookFailsCreateAndLeavesNothing() throws {
        let b = try TestBundle("hookfail")
        b.spec.hooks = Hooks(createRuntime: [Hook(path: "/bin/sh", args: ["sh", "-c", "sleep 10"], timeout: 1)])
        let r = try b.create()
        #expect(r.code != 0 && r.err.contains("timed out"), "\(r)")
        #expect(!FileManager.default.fileExists(atPath: b.root + "/" + b.id))
        #expect(b.cgroupDirectories.allSatisfy { !FileManager.default.fileExists(atPath: $0) })
    }

    @Test func jsonLogOnError() throws {
        let b = try TestBundle("log")
        let log = b.dir + "/log.json"
        let r = try b.runtime(["--log", log, "--log-format", "json", "state", "nope"])
        #expect(r.code != 0)
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(text.contains("\"level\":\"error\"") && text.contains("does not exist"), "\(text)")
    }

    @Test func terminalThroughConsoleSocket() throws {
        let b = try TestBundle("tty")
        b.spec.process?.terminal = true
        b.spec.process?.consoleSize = ConsoleSize(height: 33, width: 101)
        b.shell("test -t 0 && echo is-a-tty; stty size 2>/dev/null || busybox stty size")
        let socketPath = b.dir + "/console.sock"
        let listener = try UnixListener(path: socketPath)
        defer { listener.close() }
        let create = try b.create(extra: ["--console-socket", socketPath])
        try #require(create.code == 0, "\(create)")
        let connection = try listener.accept()
        defer { close(connection) }
        let (fds, _) = try Descriptors.receive(from: connection, max: 1, payloadSize: 64)
        let master = try #require(fds.first)
        defer { close(master) }
        #expect(try b.runtime(["start", b.id]).code == 0)
        var output = ""
        var buffer = [UInt8](repeating: 0, count: 4096)
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline && !output.contains("101") {
            var pfd = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
            if poll(&pfd, 1, 200) > 0 {
                let n = read(master, &buffer, buffer.count)
                if n <= 0 { break }
                output += String(decoding: buffer[0..<n], as: UTF8.self)
            }
        }
        #expect(output.contains("is-a-tty"), "\(output)")
        #expect(output.contains("33 101"), "\(output)")
    }
}

/// A listening Unix socket for console-socket tests.
struct UnixListener {
    let fd: Int32

    init(path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in path.utf8.enumerated() where i < raw.count - 1 { raw[i] = b }
        }
        let ok = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard ok == 0, listen(fd, 1) == 0 else { throw SystemError("listen \(path)") }
    }

    func accept() throws -> Int32 {
        let c = Glibc.accept(fd, nil, nil)
        guard c >= 0 else { throw SystemError("accept") }
        return c
    }

    func close() { Glibc.close(fd) }
}

/// A runtime killed in the middle of `create` leaves something `delete --force` can clean up.
@Suite(.enabled(if: TestEnvironment.canRunContainers, "needs root and busybox-static: run scripts/test.sh as root"))
struct InterruptedCreateTests {
    @Test func createKilledDuringHooksIsCleanedUpByForcedDelete() throws {
        let b = try TestBundle("killed")
        // The createRuntime hook blocks; the runtime is killed while it waits for it.
        let marker = b.dir + "/hook-started"
        b.spec.hooks = Hooks(createRuntime: [Hook(path: "/bin/sh", args: ["sh", "-c", "echo $$ > \(marker); exec sleep 30"])])
        b.shell("true")
        try b.writeConfig()
        var pid: pid_t = 0
        let argv = CStringArray([TestEnvironment.runtimeBinary, "--root", b.root, "create", "--bundle", b.dir, b.id])
        let envp = CStringArray(["PATH=/usr/bin:/bin"])
        try #require(posix_spawn(&pid, TestEnvironment.runtimeBinary, nil, nil, argv.pointers, envp.pointers) == 0)
        func hookPID() -> Int32? {
            (try? String(contentsOfFile: marker, encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        for _ in 0..<500 where hookPID() == nil { usleep(10_000) }
        #expect(hookPID() != nil, "the hook started")
        kill(pid, SIGKILL)
        Processes.wait(pid)
        // The hook outlives the runtime that ran it: stop it by the pid it wrote.
        if let hook = hookPID() { kill(hook, SIGKILL) }
        // Init notices its runtime is gone (the socket closes) and exits; the record remains.
        let state = try #require(try b.state())
        #expect(state.status == .stopped || state.status == .creating, "\(state)")
        #expect(b.cgroupDirectories.contains { FileManager.default.fileExists(atPath: $0) }, "the cgroup was made before the kill")
        #expect(try b.runtime(["delete", "--force", b.id]).code == 0)
        #expect(try b.state() == nil)
        #expect(b.cgroupDirectories.allSatisfy { !FileManager.default.fileExists(atPath: $0) })
    }
}

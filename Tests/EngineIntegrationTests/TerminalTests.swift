import Foundation
import Testing

/// -i, -t, attach and detach, exec -t: real ptys driven by the test (its own pty pair as the
/// user's terminal) and plain files as a non-terminal client.
@Suite(.serialized, .enabled(if: engineTestsEnabled, skipReason))
struct TerminalTests {
    @Test func runWithTerminalShowsATtyOfTheClientsSize() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let session = try PtySession(
            fixture.commandLine(
                "run",
                [
                    "-it", "--rm", fixture.image, "sh", "-c",
                    "busybox tty; busybox stty size; exit 3",
                ]), rows: 33, columns: 77)
        #expect(session.wait() == 3, "\(session.text)")
        #expect(session.text.contains("/dev/pts/0"), "\(session.text)")
        #expect(session.text.contains("33 77"), "\(session.text)")

        // A client that is not a terminal still gets a tty in the container (no raw mode).
        let piped = try fixture.skiff("run", ["-t", "--rm", fixture.image, "busybox", "tty"])
        #expect(piped.status == 0, "\(piped.stderr)")
        #expect(piped.stdout.hasPrefix("/dev/pts/"), "\(piped.stdout)")
        // Without -t there is none.
        let plain = try fixture.skiff("run", ["--rm", fixture.image, "busybox", "tty"])
        #expect(plain.status == 1 && plain.stdout.contains("not a tty"), "\(plain.stdout)")
    }

    @Test func interactiveStdinIsPassedThrough() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let echoed = try runWithInput(fixture.commandLine("run", ["-i", "--rm", fixture.image, "cat"]), input: "hello\nworld\n")
        #expect(echoed.status == 0, "\(echoed.stderr)")
        #expect(echoed.stdout == "hello\nworld\n")
        let read = try runWithInput(
            fixture.commandLine("run", ["-i", "--rm", fixture.image, "sh", "-c", "read a; echo got-$a; exit 4"]),
            input: "line\n")
        #expect(read.status == 4 && read.stdout == "got-line\n", "\(read.stdout) \(read.stderr)")
        // Without -i the program's stdin is empty.
        let closed = try runWithInput(fixture.commandLine("run", ["--rm", fixture.image, "cat"]), input: "ignored\n")
        #expect(closed.status == 0 && closed.stdout.isEmpty)

        // start -a -i of a container created with -i.
        let created = try fixture.skiff("create", ["-i", fixture.image, "cat"], check: true).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let started = try runWithInput(fixture.commandLine("start", ["-a", "-i", created]), input: "again\n")
        #expect(started.status == 0 && started.stdout == "again\n", "\(started.stdout) \(started.stderr)")
    }

    @Test func runItResizesAndDetaches() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let name = "tty-\(UUID().uuidString.prefix(8))"
        let session = try PtySession(fixture.commandLine("run", ["-it", "--name", name, fixture.image, "sh"]), rows: 33, columns: 77)
        session.send("busybox stty size; echo mark-$((6*7))\r")
        #expect(session.expect("mark-42"), "\(session.text)")
        #expect(session.text.contains("33 77"), "\(session.text)")
        // SIGWINCH on our side reaches the container's terminal.
        // The resize travels asynchronously: ask again until the new size shows, within a deadline.
        session.resize(rows: 40, columns: 100)
        var resized = false
        for _ in 0..<20 where !resized {
            session.send("busybox stty size\r")
            resized = session.expect("40 100", seconds: 0.5)
        }
        #expect(resized, "\(session.text)")
        // ctrl-p ctrl-q: the client exits 0 and the container keeps running.
        session.send("\u{10}\u{11}")
        #expect(session.wait() == 0, "\(session.text)")
        let inspect = try fixture.skiff("inspect", [name], check: true).stdout
        #expect(inspect.contains("\"Running\" : true") || inspect.contains("\"Running\": true"), "\(inspect)")
        #expect(inspect.contains("\"Tty\" : true") || inspect.contains("\"Tty\": true"), "\(inspect)")
    }

    /// `run -it --rm`, then ctrl-p ctrl-q: back to the shell at once (the command used to wait
    /// for the container's removal, that is, for it to exit); the container runs on and still
    /// goes when it ends.
    @Test func runItRmDetachesAtOnce() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let name = "ttyrm-\(UUID().uuidString.prefix(8))"
        let session = try PtySession(fixture.commandLine("run", ["-it", "--rm", "--name", name, fixture.image, "sh"]))
        session.send("echo mark-$((6*7))\r")
        #expect(session.expect("mark-42"), "\(session.text)")
        session.send("\u{10}\u{11}")
        #expect(session.wait(seconds: 5) == 0, "\(session.text)")
        let running = try fixture.skiff("ps", ["--filter", "name=\(name)", "--format", "{{.Names}}"], check: true).stdout
        #expect(running.contains(name))
        _ = try fixture.skiff("kill", [name], check: true)
        #expect(eventually { fixture.containerIDs().isEmpty }, "--rm must still remove it once it exits")
    }

    @Test func restartedProgramGetsATerminalOfTheSameSize() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let session = try PtySession(
            fixture.commandLine(
                "run",
                [
                    "-it", "--restart", "on-failure:1", fixture.image, "sh", "-c",
                    "busybox stty size; exit 1",
                ]), rows: 33, columns: 77)
        // The client stays attached across the restart and ends with the last exit code.
        #expect(session.wait() == 1, "\(session.text)")
        #expect(session.text.components(separatedBy: "33 77").count == 3, "\(session.text)")
    }

    @Test func attachAndDetachLeaveTheContainerRunning() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let name = "att-\(UUID().uuidString.prefix(8))"
        try fixture.skiff("run", ["-dit", "--name", name, fixture.image, "sh"], check: true)
        let first = try PtySession(fixture.commandLine("attach", [name]))
        first.send("echo attached-$((40+2))\r")
        #expect(first.expect("attached-42"), "\(first.text)")
        first.send("\u{10}\u{11}")
        #expect(first.wait() == 0, "\(first.text)")
        #expect(try fixture.skiff("ps", []).stdout.contains(name))
        #expect(try fixture.skiff("logs", [name]).stdout.contains("attached-42"))

        // Custom detach keys, then a second attachment ends with the program's exit code.
        let second = try PtySession(fixture.commandLine("attach", ["--detach-keys", "ctrl-a,x", name]))
        second.send("echo again-$((1+1))\r")
        #expect(second.expect("again-2"), "\(second.text)")
        second.send("\u{01}x")
        #expect(second.wait() == 0, "\(second.text)")
        let third = try PtySession(fixture.commandLine("attach", [name]))
        third.send("echo last; exit 5\r")
        #expect(third.wait() == 5, "\(third.text)")
        #expect(try fixture.skiff("wait", [name]).stdout.contains("5"))

        // Attaching to a stopped container is refused.
        #expect(try fixture.skiff("attach", [name]).status == 125)
    }

    @Test func execWithTerminal() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let id = try fixture.skiff("run", ["-d", fixture.image, "sleep", "60"], check: true).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let session = try PtySession(
            fixture.commandLine("exec", ["-it", id, "sh", "-c", "busybox tty; busybox stty size; exit 6"]),
            rows: 21, columns: 55)
        #expect(session.wait() == 6, "\(session.text)")
        #expect(session.text.contains("/dev/pts/"), "\(session.text)")
        #expect(session.text.contains("21 55"), "\(session.text)")
        // Interactive: what we type reaches the program through the pty.
        let typed = try PtySession(fixture.commandLine("exec", ["-it", id, "sh"]))
        typed.send("echo typed-$((3*3)); exit 2\r")
        #expect(typed.wait() == 2, "\(typed.text)")
        #expect(typed.text.contains("typed-9"), "\(typed.text)")

        let piped = try fixture.skiff("exec", ["-t", id, "busybox", "tty"])
        #expect(piped.status == 0 && piped.stdout.hasPrefix("/dev/pts/"), "\(piped.stdout) \(piped.stderr)")
        let interactive = try runWithInput(fixture.commandLine("exec", ["-i", id, "cat"]), input: "through\n")
        #expect(interactive.stdout == "through\n")
        let notInteractive = try runWithInput(fixture.commandLine("exec", [id, "cat"]), input: "dropped\n")
        #expect(notInteractive.status == 0 && notInteractive.stdout.isEmpty)
    }
}

/// A misbehaving attach client cannot hurt the monitor or the container.
@Suite(.serialized, .enabled(if: engineTestsEnabled, skipReason))
struct HostileAttachTests {
    /// Connects to the container's attach socket (through /proc/self/fd: the path is too long
    /// for a socket address) and writes `bytes`.
    @discardableResult
    func connectAndSend(_ directory: String, _ bytes: [UInt8], keepOpen: Bool = false) throws -> Int32 {
        let dir = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dir >= 0 else { throw TestError("open \(directory)") }
        defer { close(dir) }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { if !keepOpen { close(fd) } }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let path = Array("/proc/self/fd/\(dir)/attach.sock".utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, b) in path.enumerated() { raw[i] = b } }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { throw TestError("connect: \(String(cString: strerror(errno)))") }
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if !keepOpen {
            // A hostile frame gets the client dropped: wait (with a deadline) for the monitor to
            // close its end, so the next step starts only after the monitor has dealt with it.
            #expect(closedByPeer(fd, within: 10), "the monitor kept a client that sent \(bytes.prefix(8))")
        }
        return fd
    }

    /// Whether the other end closes `fd` within `seconds` (what it sends meanwhile is discarded).
    func closedByPeer(_ fd: Int32, within seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 100) > 0 else { continue }
            let n = read(fd, &buffer, buffer.count)
            if n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN) { return true }
        }
        return false
    }

    @Test func garbageFramesDropTheClientOnly() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let id = try fixture.skiff("run", ["-dit", fixture.image, "sh"], check: true).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let directory = fixture.root + "/containers/" + id
        try connectAndSend(directory, [99, 0, 0, 0, 0])  // unknown type
        try connectAndSend(directory, [1, 0x7f, 0xff, 0xff, 0xff, 1, 2, 3])  // 2 GiB announced
        try connectAndSend(directory, [3, 0, 0, 0, 1, 5])  // short resize
        try connectAndSend(directory, Array(repeating: 0xff, count: 100_000))
        // The monitor still serves a proper client and the program still runs.
        let session = try PtySession(fixture.commandLine("attach", [id]))
        session.send("echo alive-$((2+3))\r")
        #expect(session.expect("alive-5"), "\(session.text)")
        session.send("\u{10}\u{11}")
        #expect(session.wait() == 0)
        #expect(fixture.field(id, "status") as? String == "running")
        let monitor = fixture.field(id, "monitorPid") as? Int ?? 0
        #expect(processExists(monitor))
    }

    @Test func aClientThatNeverReadsDoesNotStallTheMonitor() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let id = try fixture.skiff(
            "run",
            [
                "-d", fixture.image, "sh", "-c",
                "sleep 1; i=0; while [ $i -lt 100000 ]; do echo line-$i-padding-padding-padding; i=$((i+1)); done; echo finished; sleep 60",
            ],
            check: true
        ).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let stuck = try connectAndSend(fixture.root + "/containers/" + id, [], keepOpen: true)
        defer { close(stuck) }
        // 4 MB of output against a socket buffer of a few hundred KB: a monitor that blocked on
        // this client would never log the end.
        #expect(eventually(60) { (try? fixture.skiff("logs", ["--tail", "1", id]).stdout) == "finished\n" })
    }
}

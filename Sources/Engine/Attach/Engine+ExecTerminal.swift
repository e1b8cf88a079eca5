#if canImport(Glibc)
import Glibc
#endif
import CShim
import ContainerRuntime
import LinuxSupport
import OCISpec

extension Engine {
    /// `exec` without -i: the program's stdin is /dev/null, not ours (it inherits our 0 while
    /// the runtime makes it).
    func withStdin<T>(interactive: Bool, _ body: () throws -> T) throws -> T {
        if interactive { return try body() }
        let saved = dup(0)
        let devNull = open("/dev/null", O_RDONLY | O_CLOEXEC)
        defer {
            if saved >= 0 {
                dup2(saved, 0)
                close(saved)
            }
            if devNull >= 0 { close(devNull) }
        }
        if devNull >= 0 { dup2(devNull, 0) }
        return try body()
    }

    /// `exec -d`: the program's stdin, stdout and stderr are /dev/null, not ours (it inherits
    /// our 0, 1 and 2 while the runtime makes it).
    func withStdio<T>(toNull: Bool, _ body: () throws -> T) throws -> T {
        guard toNull else { return try body() }
        let saved = (0...2).map { dup($0) }
        let devNull = open("/dev/null", O_RDWR | O_CLOEXEC)
        defer {
            for (fd, copy) in saved.enumerated() where copy >= 0 {
                dup2(copy, Int32(fd))
                close(copy)
            }
            if devNull >= 0 { close(devNull) }
        }
        if devNull >= 0 { for fd in 0...2 { dup2(devNull, Int32(fd)) } }
        return try body()
    }

    /// `exec -t`: the program gets a pty from the container's devpts (its master comes to us
    /// over a console socket) and we are its terminal, as docker's client is: raw mode, window
    /// size at start and on SIGWINCH, our stdin in with -i, its output to our stdout.
    func execWithTerminal(id: String, process: inout Process, interactive: Bool, detachKeys: DetachKeys) throws -> Int32 {
        if let size = RawTerminal.size() { process.consoleSize = ConsoleSize(height: UInt(size.rows), width: UInt(size.columns)) }
        let (ours, theirs) = try Descriptors.socketPair()
        defer { close(ours) }
        var options = Runtime.ExecOptions()
        options.consoleSocketFD = theirs
        let pid: Int32
        do {
            pid = try runtime.exec(id: id, process: process, options: options)
            close(theirs)
        } catch {
            close(theirs)
            throw error
        }
        let master: Int32
        do {
            let received = try Descriptors.receive(from: ours, max: 1, payloadSize: 256)
            guard let fd = received.fds.first else { throw EngineError.startFailed("exec: the process did not send its terminal") }
            master = fd
        } catch {
            _ = Glibc.kill(pid, SIGKILL)
            Processes.wait(pid)
            throw error
        }
        defer { close(master) }
        switch try TerminalRelay(master: master, pid: pid, forwardStdin: interactive, detachKeys: detachKeys).run() {
        case .exited(let code):
            return code
        case .detached:
            // The program runs on: a small holder process keeps its terminal open (and drains
            // what it prints) until it exits, as docker's daemon would. Without a holder the
            // program would get SIGHUP when our end of the pty closes.
            _ = try MonitorLauncher.spawn(executable: executable, arguments: ["exec-terminal-holder"], statusFD: master)
            return 0
        }
    }

    /// `skiff exec-terminal-holder` (hidden): holds a detached `exec -it` program's pty master,
    /// given as fd 3, reading and discarding its output until the program and its children close
    /// the terminal.
    public static func holdTerminal(master: Int32 = 3) -> Never {
        // The relay made the descriptor non-blocking; we wait on it.
        _ = fcntl(master, F_SETFL, fcntl(master, F_GETFL) & ~O_NONBLOCK)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(master, &buffer, buffer.count)
            if n > 0 || (n < 0 && errno == EINTR) { continue }
            exit(0)
        }
    }
}

/// Copies between our stdio and a pty master we hold for a child process (exec -t) until the
/// child exits (its exit code) or the user types the detach keys.
struct TerminalRelay {
    let master: Int32
    let pid: Int32
    let forwardStdin: Bool
    let detachKeys: DetachKeys

    enum Outcome {
        case exited(Int32)
        case detached
    }

    func run() throws -> Outcome {
        let signals = try SignalWatcher([SIGWINCH, SIGINT, SIGTERM, SIGHUP, SIGQUIT])
        let saved = forwardStdin ? RawTerminal.makeRaw(0) : nil
        defer { RawTerminal.restore(0, saved) }
        let pidFD = skiff_pidfd_open(pid)
        defer { if pidFD >= 0 { close(pidFD) } }
        var stdinOpen = forwardStdin
        var masterOpen = true
        var matcher = DetachKeyMatcher(detachKeys)
        var buffer = [UInt8](repeating: 0, count: 32768)
        _ = fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK)
        func drain() {
            while true {
                let n = read(master, &buffer, buffer.count)
                if n > 0 {
                    _ = try? FileIO.writeAll(fd: 1, Array(buffer[0..<n]), what: "stdout")
                    continue
                }
                if n < 0 && errno == EINTR { continue }
                if n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) { masterOpen = false }
                return
            }
        }
        while true {
            var fds = [
                pollfd(fd: masterOpen ? master : -1, events: Int16(POLLIN), revents: 0),
                pollfd(fd: signals.descriptor, events: Int16(POLLIN), revents: 0),
                pollfd(fd: pidFD, events: Int16(POLLIN), revents: 0),
                pollfd(fd: stdinOpen ? 0 : -1, events: Int16(POLLIN), revents: 0),
            ]
            _ = poll(&fds, 4, pidFD >= 0 ? -1 : 100)
            if fds[0].revents != 0 { drain() }
            if fds[1].revents != 0 {
                for sig in signals.pending() {
                    if sig == SIGWINCH {
                        if let size = RawTerminal.size() { _ = skiff_set_winsize(master, size.rows, size.columns) }
                    } else {
                        _ = Glibc.kill(pid, sig)
                    }
                }
            }
            if fds[3].revents != 0 {
                let n = read(0, &buffer, buffer.count)
                if n > 0 {
                    let (bytes, detach) = matcher.feed(buffer[0..<n])
                    if !bytes.isEmpty { _ = try? FileIO.writeAll(fd: master, bytes, what: "terminal") }
                    if detach { return .detached }
                } else if n == 0 || errno != EINTR {
                    stdinOpen = false
                }
            }
            var status: Int32 = 0
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid || (reaped < 0 && errno == ECHILD) {
                if masterOpen { drain() }
                return .exited(reaped == pid ? Processes.decode(status) : 255)
            }
        }
    }
}

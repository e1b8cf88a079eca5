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
            if saved >= 0 { dup2(saved, 0); close(saved) }
            if devNull >= 0 { close(devNull) }
        }
        if devNull >= 0 { dup2(devNull, 0) }
        return try body()
    }

    /// `exec -t`: the program gets a pty from the container's devpts (its master comes to us
    /// over a console socket) and we are its terminal, as docker's client is: raw mode, window
    /// size at start and on SIGWINCH, our stdin in with -i, its output to our stdout.
    func execWithTerminal(id: String, process: inout Process, interactive: Bool) throws -> Int32 {
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
        return try TerminalRelay(master: master, pid: pid, forwardStdin: interactive).run()
    }
}

/// Copies between our stdio and a pty master we hold for a child process (exec -t) until the
/// child exits; returns its exit code.
struct TerminalRelay {
    let master: Int32
    let pid: Int32
    let forwardStdin: Bool

    func run() throws -> Int32 {
        let signals = try SignalPipe(signals: [SIGWINCH, SIGINT, SIGTERM, SIGHUP, SIGQUIT])
        let saved = forwardStdin ? RawTerminal.makeRaw(0) : nil
        defer { RawTerminal.restore(0, saved) }
        let pidFD = skiff_pidfd_open(pid)
        defer { if pidFD >= 0 { close(pidFD) } }
        var stdinOpen = forwardStdin
        var masterOpen = true
        var buffer = [UInt8](repeating: 0, count: 32768)
        _ = fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK)
        func drain() {
            while true {
                let n = read(master, &buffer, buffer.count)
                if n > 0 { _ = try? FileIO.writeAll(fd: 1, Array(buffer[0..<n]), what: "stdout"); continue }
                if n < 0 && errno == EINTR { continue }
                if n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) { masterOpen = false }
                return
            }
        }
        while true {
            var fds = [pollfd(fd: masterOpen ? master : -1, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: signals.readEnd, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: pidFD, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: stdinOpen ? 0 : -1, events: Int16(POLLIN), revents: 0)]
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
                if n > 0 { _ = try? FileIO.writeAll(fd: master, Array(buffer[0..<n]), what: "terminal") }
                else if n == 0 || errno != EINTR { stdinOpen = false }
            }
            var status: Int32 = 0
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid || (reaped < 0 && errno == ECHILD) {
                if masterOpen { drain() }
                return reaped == pid ? Processes.decode(status) : 255
            }
        }
    }
}

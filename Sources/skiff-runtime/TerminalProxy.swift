#if canImport(Glibc)
import Glibc
#endif
import ContainerRuntime
import LinuxSupport
import CShim

/// For `run` of a container with a terminal and no --console-socket: skiff-runtime is the
/// console itself, copying between its own stdio and the container's pty, as runc does.
final class TerminalProxy {
    let runtimeEnd: Int32
    private let ourEnd: Int32
    private var runtimeEndOpen = true

    init() throws {
        (ourEnd, runtimeEnd) = try Descriptors.socketPair()
    }

    func closeRuntimeEnd() {
        if runtimeEndOpen {
            close(runtimeEnd)
            runtimeEndOpen = false
        }
    }

    deinit {
        closeRuntimeEnd()
        close(ourEnd)
    }

    /// Receives the pty master and relays until the container exits; returns its exit code.
    func run(pid: Int32) throws -> Int32 {
        let (fds, _) = try Descriptors.receive(from: ourEnd, max: 1, payloadSize: 256)
        guard let master = fds.first else { throw RuntimeError.initFailed("the container did not send its terminal") }
        defer { close(master) }
        var saved = termios()
        let isTTY = isatty(0) == 1
        if isTTY {
            tcgetattr(0, &saved)
            var raw = saved
            cfmakeraw(&raw)
            tcsetattr(0, TCSANOW, &raw)
            var rows: UInt16 = 0, cols: UInt16 = 0
            if skiff_get_winsize(0, &rows, &cols) == 0 { _ = skiff_set_winsize(master, rows, cols) }
        }
        defer { if isTTY { tcsetattr(0, TCSANOW, &saved) } }
        // Window changes and termination signals arrive as events; the exit through a pidfd.
        let signals = try SignalWatcher([SIGWINCH, SIGTERM, SIGHUP, SIGQUIT, SIGINT])
        defer { signals.close() }
        let pidFD = skiff_pidfd_open(pid)
        defer { if pidFD >= 0 { close(pidFD) } }
        var stdinOpen = true
        var buffer = [UInt8](repeating: 0, count: 32768)
        var status: Int32 = 0
        while true {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid {
                drain(master, &buffer)
                return Processes.decode(status)
            }
            var fds = [
                pollfd(fd: master, events: Int16(POLLIN), revents: 0),
                pollfd(fd: signals.descriptor, events: Int16(POLLIN), revents: 0),
                pollfd(fd: pidFD, events: Int16(POLLIN), revents: 0),
            ]
            if stdinOpen { fds.append(pollfd(fd: 0, events: Int16(POLLIN), revents: 0)) }
            let n = poll(&fds, nfds_t(fds.count), pidFD >= 0 ? -1 : 100)
            if n <= 0 { continue }
            if fds[0].revents != 0 {
                let got = read(master, &buffer, buffer.count)
                if got > 0 {
                    _ = write(1, buffer, got)
                } else if got == 0 || errno != EINTR {
                    // The pty closed: wait for the exit status.
                    return ForegroundWait.wait(pid: pid)
                }
            }
            if fds[1].revents != 0 {
                for sig in signals.pending() {
                    if sig == SIGWINCH {
                        var rows: UInt16 = 0, cols: UInt16 = 0
                        if skiff_get_winsize(0, &rows, &cols) == 0 { _ = skiff_set_winsize(master, rows, cols) }
                    } else {
                        kill(pid, sig)
                    }
                }
            }
            if stdinOpen && fds.count > 3 && fds[3].revents != 0 {
                let got = read(0, &buffer, buffer.count)
                if got > 0 { _ = write(master, buffer, got) } else { stdinOpen = false }
            }
        }
    }

    private func drain(_ master: Int32, _ buffer: inout [UInt8]) {
        _ = skiff_fcntl_int(master, F_SETFL, O_NONBLOCK)
        while true {
            let got = read(master, &buffer, buffer.count)
            if got <= 0 { return }
            _ = write(1, buffer, got)
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
import LinuxSupport

/// The user's side of an attachment to a container's monitor (`run -it`, `start -a -i`,
/// `attach`): our terminal in raw mode for a tty container, its size sent at once and on
/// SIGWINCH, our stdin passed on (watching for the detach keys), the output written to our
/// stdout and stderr, until the program exits or the user detaches.
public struct AttachClient {
    public enum Outcome: Equatable, Sendable {
        /// The program exited for good with this code.
        case exited(Int32)
        /// The user typed the detach keys: the container keeps running.
        case detached
        /// The monitor closed the connection without an exit code.
        case disconnected
        /// A signal ended the attachment to a terminal in raw mode (the terminal went away, or
        /// `kill` of the client): the container keeps running.
        case interrupted(Int32)
    }

    public var socket: Int32
    public var tty: Bool
    /// Pass our stdin to the program (-i).
    public var forwardStdin: Bool
    /// Close the program's stdin when ours ends (`run -i`, `start -a -i`; not `attach`).
    public var closeStdinAtEOF: Bool
    public var detachKeys: DetachKeys
    /// Called with SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 we receive while our
    /// terminal is not in raw mode, to forward them to the container (in raw mode ctrl-c
    /// travels as a byte, and a signal ends the attachment as it ends docker's client).
    public var onSignal: (Int32) -> Void
    /// `--sig-proxy=false`: such a signal ends the attachment instead (the container runs on).
    public var proxySignals: Bool
    /// `run -a stdout|stderr`: the output streams written out (the others are dropped here; the
    /// log keeps them).
    public var showStdout = true
    public var showStderr = true

    public init(
        socket: Int32, tty: Bool, forwardStdin: Bool, closeStdinAtEOF: Bool, detachKeys: DetachKeys,
        proxySignals: Bool = true, onSignal: @escaping (Int32) -> Void
    ) {
        self.socket = socket
        self.tty = tty
        self.forwardStdin = forwardStdin
        self.closeStdinAtEOF = closeStdinAtEOF
        self.detachKeys = detachKeys
        self.proxySignals = proxySignals
        self.onSignal = onSignal
    }

    public func run() throws -> Outcome {
        let forwarded: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2]
        let signals = try SignalWatcher([SIGWINCH] + forwarded)
        let saved = tty && forwardStdin ? RawTerminal.makeRaw(0) : nil
        defer { RawTerminal.restore(0, saved) }
        func send(_ frame: AttachFrame) throws {
            try FileIO.writeAll(fd: socket, frame.encoded(), what: "attach socket")
        }
        func sendSize() {
            guard tty, let size = RawTerminal.size() else { return }
            try? send(.resize(rows: size.rows, columns: size.columns))
        }
        sendSize()
        var matcher = DetachKeyMatcher(detachKeys)
        var stdinOpen = forwardStdin
        var decoder = AttachFrameDecoder()
        var buffer = [UInt8](repeating: 0, count: 32768)
        while true {
            var fds = [
                pollfd(fd: socket, events: Int16(POLLIN), revents: 0),
                pollfd(fd: signals.descriptor, events: Int16(POLLIN), revents: 0),
                pollfd(fd: stdinOpen ? 0 : -1, events: Int16(POLLIN), revents: 0),
            ]
            if poll(&fds, 3, -1) < 0 && errno != EINTR { throw SystemError("poll the attach socket") }
            if fds[1].revents != 0 {
                for sig in signals.pending() {
                    if sig == SIGWINCH {
                        sendSize()
                    } else if saved == nil && proxySignals {
                        onSignal(sig)
                    } else {
                        return .interrupted(sig)
                    }
                }
            }
            if fds[2].revents != 0 {
                let n = read(0, &buffer, buffer.count)
                if n > 0 {
                    var bytes = Array(buffer[0..<n])
                    var detach = false
                    if tty { (bytes, detach) = matcher.feed(bytes[...]) }
                    if !bytes.isEmpty { try send(.stdin(bytes)) }
                    if detach { return .detached }
                } else if n == 0 || errno != EINTR {
                    stdinOpen = false
                    if closeStdinAtEOF { try send(.closeStdin) }
                }
            }
            if fds[0].revents != 0 {
                let n = read(socket, &buffer, buffer.count)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return .disconnected }
                decoder.append(buffer[0..<n])
                while let frame = try decoder.next() {
                    switch frame {
                    case .stdout(let bytes): if showStdout { try FileIO.writeAll(fd: 1, bytes, what: "stdout") }
                    case .stderr(let bytes): if showStderr { try FileIO.writeAll(fd: 2, bytes, what: "stderr") }
                    case .exit(let code): return .exited(code)
                    case .stdin, .closeStdin, .resize, .signal, .exec: break
                    }
                }
            }
        }
    }
}

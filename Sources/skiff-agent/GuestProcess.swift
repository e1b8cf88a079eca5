#if canImport(Glibc)
import Glibc
#endif
import AgentProtocol
import CShim
import ContainerRuntime
import LinuxSupport

/// A process the agent started in the container (its init, or an exec): its stdio ends on the
/// agent's side, the input the host sent that the process has not read yet, and its exit.
final class GuestProcess {
    /// After the process exits, how long its output may stay open (held by a child it left
    /// behind) before the exit is reported anyway.
    static let outputGraceSeconds = 1.0

    let pid: Int32
    private var outputs: [(fd: Int32, stream: StdioStream)]
    private var input: PendingInput
    private let master: Int32
    private var status: Int32?
    private var exitedAt = 0.0
    private var owned: Set<Int32>

    private init(pid: Int32, outputs: [(fd: Int32, stream: StdioStream)], input: Int32, master: Int32, owned: Set<Int32>) {
        self.pid = pid
        self.outputs = outputs
        self.input = PendingInput(fd: input, isTerminal: input >= 0 && input == master)
        self.master = master
        self.owned = owned
    }

    deinit {
        for fd in owned { close(fd) }
    }

    /// Gives the process its stdio the way the runtime expects it (`ProcessStdio`: pipes on the
    /// caller's 0, 1 and 2, or a console socket that receives the pty master), runs `create` (the
    /// runtime's create or exec, returning the pid), and puts the agent's own stdio back.
    static func make(terminal: Bool, stdin: Bool, console: [Int32], create: (Int32?) throws -> Int32) throws -> GuestProcess {
        let (pid, stdio) = try ProcessStdio.create(terminal: terminal, stdin: stdin, restoring: console, create)
        var outputs: [(fd: Int32, stream: StdioStream)] = [(stdio.stdout, .stdout)]
        if stdio.stderr >= 0 { outputs.append((stdio.stderr, .stderr)) }
        return GuestProcess(pid: pid, outputs: outputs, input: stdio.stdin, master: stdio.master, owned: Set(stdio.owned))
    }

    func pollDescriptors() -> [pollfd] {
        var fds = outputs.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
        if input.wantsWrite && input.fd != master {
            fds.append(pollfd(fd: input.fd, events: Int16(POLLOUT), revents: 0))
        }
        return fds
    }

    /// Output that became readable becomes data frames; an input that became writable takes
    /// what is pending.
    func service(fd: Int32, revents: Int16) -> [Frame] {
        if let index = outputs.firstIndex(where: { $0.fd == fd }) { return read(index, handle: nil) }
        if fd == input.fd { forget(input.flush()) }
        return []
    }

    private var handleForFrames: UInt32 = 0

    /// Reads what `outputs[index]` has now; its end (EOF, or EIO from a pty whose slaves are all
    /// closed) closes it and yields a close frame.
    private func read(_ index: Int, handle: UInt32?) -> [Frame] {
        let (fd, stream) = outputs[index]
        var frames: [Frame] = []
        var chunk = [UInt8](repeating: 0, count: AgentWire.maxDataChunk)
        while true {
            let n = Glibc.read(fd, &chunk, chunk.count)
            if n > 0 {
                frames += AgentMessages.data(Array(chunk[0..<n]), stream: stream, handle: handle ?? handleForFrames)
                if frames.count >= 16 { return frames }  // let the other streams and the host have a turn
                continue
            }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return frames }
            frames.append(AgentMessages.close(stream: stream, handle: handle ?? handleForFrames))
            outputs.remove(at: index)
            if fd != master {
                close(fd)
                owned.remove(fd)
            }
            return frames
        }
    }

    func bind(handle: UInt32) { handleForFrames = handle }

    func input(_ bytes: ArraySlice<UInt8>) {
        forget(self.input.append(bytes))
    }

    /// The host's end of input: a pipe is closed once drained; a terminal has no end to pass on.
    func closeInput() {
        forget(input.end())
    }

    /// A descriptor `PendingInput` closed is no longer ours to close.
    private func forget(_ closed: Int32?) {
        if let closed { owned.remove(closed) }
    }

    func resize(rows: UInt16, columns: UInt16) {
        if master >= 0 { _ = skiff_set_winsize(master, rows, columns) }
    }

    func exited(status: Int32) {
        self.status = status
        exitedAt = MonotonicClock.seconds()
    }

    /// Exited, and its output is over (or has stayed open past the grace period).
    var isFinished: Bool {
        status != nil && (outputs.isEmpty || MonotonicClock.seconds() - exitedAt > Self.outputGraceSeconds)
    }

    /// Exited with output still open: the loop must wake up to end the grace period.
    var isLingering: Bool { status != nil && !outputs.isEmpty }

    /// What is left of the output, then the ends of the streams still open.
    func drainAndClose(handle: UInt32) -> [Frame] {
        var frames: [Frame] = []
        while !outputs.isEmpty {
            let before = outputs.count
            frames += read(outputs.count - 1, handle: handle)
            if outputs.count == before {
                let (fd, stream) = outputs.removeLast()
                frames.append(AgentMessages.close(stream: stream, handle: handle))
                if fd != master {
                    close(fd)
                    owned.remove(fd)
                }
            }
        }
        return frames
    }

    /// The exit code docker reports (128 + N for a signal) and the signal, if one killed it.
    var exitReport: (Int32, Int32?) {
        guard let status else { return (255, nil) }
        let signal = status & 0x7F
        if signal != 0 && signal != 0x7F { return (128 + signal, signal) }
        return ((status >> 8) & 0xFF, nil)
    }
}

#if canImport(Glibc)
import Glibc
#endif
import CShim
import ContainerRuntime
import LinuxSupport
import OCISpec

/// One run of a container's program under its monitor: the stdio it gets (stdout and stderr
/// pipes and, with -i, a stdin pipe; or with -t a pty whose master comes back over the console
/// socket), the runtime's create and start, and the loop that copies output to the log and the
/// attach clients, passes client input and window sizes on, and returns the exit code.
final class ContainerRun: ContainerRunning {
    let pid: Int32
    private var outputs: [(fd: Int32, stream: String)]
    private var input: PendingInput
    private let master: Int32
    private var owned: [Int32]
    /// The last size a client asked for (the next run's pty starts with it).
    private(set) var lastSize: ConsoleSize?

    private init(pid: Int32, outputs: [(fd: Int32, stream: String)], input: Int32, master: Int32, owned: [Int32]) {
        self.pid = pid
        self.outputs = outputs
        self.input = PendingInput(fd: input, isTerminal: input >= 0 && input == master)
        self.master = master
        self.owned = owned
    }

    deinit {
        for fd in owned { close(fd) }
    }

    /// Creates and starts the container. `beforeStart` runs once it is created and its terminal
    /// is known (the monitor waits there for the client of `run -it`).
    static func start(
        engine: Engine, id: String, tty: Bool, interactive: Bool, size: ConsoleSize?,
        beforeStart: () throws -> Void
    ) throws -> ContainerRun {
        var options = Runtime.CreateOptions()
        // The container's init inherits our 0, 1 and 2: `ProcessStdio` points them at its stdio
        // while it is made, and back at /dev/null (the monitor's own) after.
        var made = false
        let created: ContainerRecord
        let stdio: ProcessStdio
        do {
            (created, stdio) = try ProcessStdio.create(terminal: tty, stdin: interactive, restoring: nil) { consoleSocket in
                if let consoleSocket { options.consoleSocketFD = consoleSocket }
                let record = try engine.runtime.create(id: id, bundle: engine.store.directory(for: id), options: options)
                made = true
                return record
            }
        } catch {
            // Created, but its terminal never came: the half-made container goes.
            if made { try? engine.runtime.delete(id: id, force: true) }
            throw error
        }
        var succeeded = false
        defer { if !succeeded { for fd in stdio.owned { close(fd) } } }
        let outputs: [(fd: Int32, stream: String)] = [(stdio.stdout, "stdout"), (stdio.stderr, "stderr")].filter { $0.fd >= 0 }
        do {
            if let size, stdio.master >= 0 {
                _ = skiff_set_winsize(stdio.master, UInt16(clamping: size.height), UInt16(clamping: size.width))
            }
            try beforeStart()
            try engine.runtime.start(id: id)
        } catch {
            try? engine.runtime.delete(id: id, force: true)
            throw error
        }
        succeeded = true
        return ContainerRun(pid: created.pid, outputs: outputs, input: stdio.stdin, master: stdio.master, owned: stdio.owned)
    }

    /// Copies output and input until the program exits; returns its exit code.
    func pump(server: AttachServer, log: ContainerLogWriter) -> Int32 {
        let pidFD = skiff_pidfd_open(pid)
        defer { if pidFD >= 0 { close(pidFD) } }
        var chunk = [UInt8](repeating: 0, count: 65536)
        func drain(_ index: Int) -> Bool {
            let (fd, stream) = outputs[index]
            while true {
                let n = read(fd, &chunk, chunk.count)
                if n > 0 {
                    log.append(chunk[0..<n], stream: stream)
                    server.broadcast(stream == "stderr" ? .stderr(Array(chunk[0..<n])) : .stdout(Array(chunk[0..<n])))
                    continue
                }
                if n < 0 && errno == EINTR { continue }
                // EOF, or EIO from a pty whose every slave is closed: this output is done.
                return n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)
            }
        }
        while true {
            var fds: [pollfd] = [pollfd(fd: pidFD, events: Int16(POLLIN), revents: 0)]
            fds += outputs.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            let inputIndex = fds.count
            fds.append(pollfd(fd: input.wantsWrite ? input.fd : -1, events: Int16(POLLOUT), revents: 0))
            let serverIndex = fds.count
            fds += server.pollDescriptors()
            _ = poll(&fds, nfds_t(fds.count), pidFD >= 0 ? -1 : 100)
            for index in outputs.indices.reversed() where fds[1 + index].revents != 0 {
                if drain(index) { outputs.remove(at: index) }
            }
            if fds[inputIndex].revents != 0 { forget(input.flush()) }
            for frame in server.handle(fds[serverIndex...]) { handle(frame) }
            var status: Int32 = 0
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid || (reaped < 0 && errno == ECHILD) {
                // What the program wrote before it exited is still buffered: take what is there.
                for index in outputs.indices.reversed() { _ = drain(index) }
                return reaped == pid ? Processes.decode(status) : 255
            }
        }
    }

    private func handle(_ frame: AttachFrame) {
        switch frame {
        case .stdin(let bytes):
            forget(input.append(bytes))
        case .closeStdin:
            forget(input.end())
        case .resize(let rows, let columns):
            lastSize = ConsoleSize(height: UInt(rows), width: UInt(columns))
            if master >= 0 { _ = skiff_set_winsize(master, rows, columns) }
        case .signal(let number, _):
            // The engine signals a process container through the runtime; a client that sends
            // this anyway reaches the program's init.
            kill(pid, number)
        case .stdout, .stderr, .exit, .exec:
            return
        }
    }

    /// A descriptor `PendingInput` closed is no longer ours to close.
    private func forget(_ closed: Int32?) {
        if let closed { owned.removeAll { $0 == closed } }
    }
}

/// One run of a container's program under its monitor, as a process on this host
/// (`ContainerRun`) or in its own micro-VM (`VMContainerRun`).
protocol ContainerRunning: AnyObject {
    /// The host process whose end is the run's end: the container's init, or the VM.
    var pid: Int32 { get }
    /// The last terminal size a client asked for (the next run's pty starts with it).
    var lastSize: ConsoleSize? { get }
    /// Copies output and input until the program exits; returns its exit code.
    func pump(server: AttachServer, log: ContainerLogWriter) -> Int32
}

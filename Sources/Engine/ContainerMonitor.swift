#if canImport(Glibc)
import Glibc
#endif
import ContainerRuntime
import LinuxSupport
import Networking

/// The per-container monitor (our conmon): `skiff container-monitor` in its own session. It
/// creates and starts the container with the runtime library (so it is the container init's
/// parent), holds its stdout and stderr pipes, writes them to the json-file log, reaps the init,
/// records the exit code and finish time, deletes the runtime state and cgroup, removes an
/// `--rm` container, and exits. Status lines go to fd 3 for the command that started it:
/// `started`, or `error <exit code> <message>`, and at the end `exit <code>`.
public enum ContainerMonitor {
    public static func main(engine: Engine, id: String, statusFD: Int32 = 3) -> Never {
        signal(SIGPIPE, SIG_IGN)
        signal(SIGCHLD, SIG_DFL)
        signal(SIGHUP, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        _ = fcntl(statusFD, F_SETFD, FD_CLOEXEC)
        func report(_ line: String) {
            _ = try? FileIO.writeAll(fd: statusFD, Array((line + "\n").utf8), what: "monitor status")
        }
        do {
            let code = try run(engine: engine, id: id, report: report)
            report("exit \(code)")
            close(statusFD)
            try? engine.disconnectNetwork(id: id)
            if let record = try? engine.store.load(id: id), record.autoRemove { try? engine.removeFiles(id: id) }
            exit(0)
        } catch {
            let mapped = Engine.mapStartError(error)
            let message = "\(error)".split(separator: "\n").joined(separator: " ")
            _ = try? engine.store.update(id: id) {
                $0.status = .created
                $0.exitCode = mapped.exitCode
                $0.error = message
                $0.monitorPid = nil
            }
            report("error \(mapped.exitCode) \(message)")
            close(statusFD)
            if let record = try? engine.store.load(id: id), record.autoRemove { try? engine.removeFiles(id: id) }
            exit(1)
        }
    }

    private static func run(engine: Engine, id: String, report: (String) -> Void) throws -> Int32 {
        let store = engine.store
        let logFD = try sysCall("open \(store.logPath(for: id))") {
            open(store.logPath(for: id), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
        }
        let log = ContainerLogWriter(fd: logFD)
        let (outRead, outWrite) = try Descriptors.pipe()
        let (errRead, errWrite) = try Descriptors.pipe()
        let devNull = try sysCall("open /dev/null") { open("/dev/null", O_RDWR | O_CLOEXEC) }
        RuntimeWarnings.handler = { message in log.append(Array(("skiff: warning: " + message + "\n").utf8)[...], stream: "stderr") }

        // The container's init inherits our 0, 1 and 2: point them at the pipes while it is made.
        dup2(devNull, 0)
        dup2(outWrite, 1)
        dup2(errWrite, 2)
        let pid: Int32
        var ports: PortReservation?
        var network: PendingNetwork?
        do {
            // The network namespace exists before the runtime joins it by path; the CNI ADD that
            // wires it overlaps the runtime's create and is over before the program starts.
            let record = try store.load(id: id)
            network = try engine.beginConnect(record)
            let created = try engine.runtime.create(id: id, bundle: store.directory(for: id), options: Runtime.CreateOptions())
            pid = created.pid
            do {
                if let network { ports = try engine.finishConnect(network, record: record) }
                try engine.runtime.start(id: id)
            } catch {
                try? engine.runtime.delete(id: id, force: true)
                throw error
            }
        } catch {
            dup2(devNull, 1)
            dup2(devNull, 2)
            // Never tear down under a running ADD.
            _ = network?.wait()
            network?.reservation.release()
            try? engine.disconnectNetwork(id: id)
            throw error
        }
        dup2(devNull, 1)
        dup2(devNull, 2)
        close(outWrite)
        close(errWrite)
        let myStart = ProcStat.read(pid: getpid())?.startTime
        try store.update(id: id) {
            $0.status = .running
            $0.pid = pid
            $0.startedAt = Clock.rfc3339Now()
            $0.finishedAt = nil
            $0.exitCode = nil
            $0.error = nil
            $0.monitorPid = getpid()
            $0.monitorStartTime = myStart
        }
        report("started")

        _ = fcntl(outRead, F_SETFL, O_NONBLOCK)
        _ = fcntl(errRead, F_SETFL, O_NONBLOCK)
        var openPipes: [(Int32, String)] = [(outRead, "stdout"), (errRead, "stderr")]
        var chunk = [UInt8](repeating: 0, count: 65536)
        func drain(_ fd: Int32, _ stream: String) -> Bool {
            while true {
                let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, 65536) }
                if n > 0 { log.append(chunk[0..<n], stream: stream); continue }
                if n < 0 && (errno == EINTR) { continue }
                return n == 0  // EOF
            }
        }
        var exitCode: Int32?
        while exitCode == nil {
            var fds = openPipes.map { pollfd(fd: $0.0, events: Int16(POLLIN), revents: 0) }
            _ = poll(&fds, nfds_t(fds.count), openPipes.isEmpty ? 100 : 200)
            for (index, entry) in openPipes.enumerated().reversed() where fds[index].revents != 0 {
                if drain(entry.0, entry.1) { close(entry.0); openPipes.remove(at: index) }
            }
            if openPipes.isEmpty { usleep(1000) }
            var status: Int32 = 0
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid { exitCode = Processes.decode(status) }
            else if reaped < 0 && errno == ECHILD { exitCode = 255 }
        }
        // What the program wrote before it exited is still in the pipes (or held open by its
        // orphans, which the pid namespace's end killed): take what is there and stop.
        for entry in openPipes { _ = drain(entry.0, entry.1); close(entry.0) }
        log.flush()
        close(logFD)
        try? engine.runtime.delete(id: id, force: true)
        // The host ports are free again once the container is gone (its DNAT rules go with the
        // network teardown that follows the exit report).
        ports?.release()
        let code = exitCode ?? 255
        try store.update(id: id) {
            $0.status = .exited
            $0.exitCode = code
            $0.finishedAt = Clock.rfc3339Now()
            $0.pid = nil
        }
        return code
    }
}

#if canImport(Glibc)
import Glibc
#endif
import ContainerRuntime
import LinuxSupport
import Networking
import OCISpec
import Synchronization

/// The per-container monitor (our conmon): `skiff container-monitor` in its own session. It
/// creates and starts the container with the runtime library (so it is the container init's
/// parent), holds its stdio (pipes, or with -t the pty master), writes the output to the
/// json-file log, serves attach clients on `attach.sock` in the container's directory, reaps the
/// init, records the exit code and finish time, deletes the runtime state and cgroup, restarts
/// the program as its --restart policy says (never after `stop`), removes an `--rm` container,
/// and exits. Status lines go to fd 3 for the command that started it: `listening` (when asked to
/// wait for an attach client), then `started` or `error <exit code> <message>`, and at the end
/// `exit <code>`.
public enum ContainerMonitor {
    /// How long the monitor of `run -it` waits for its client before starting without it.
    static let attachWaitMilliseconds: Int32 = 10_000

    /// The network teardown of an --rm container, started as soon as its program exits.
    static let detachedTeardown = Mutex<BackgroundThread<Void>?>(nil)

    public static func main(
        engine: Engine, id: String, statusFD: Int32 = 3, waitForAttach: Bool = false,
        consoleSize: ConsoleSize? = nil
    ) -> Never {
        signal(SIGPIPE, SIG_IGN)
        signal(SIGCHLD, SIG_DFL)
        signal(SIGHUP, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        _ = fcntl(statusFD, F_SETFD, FD_CLOEXEC)
        func report(_ line: String) {
            _ = try? FileIO.writeAll(fd: statusFD, Array((line + "\n").utf8), what: "monitor status")
        }
        do {
            let code = try run(engine: engine, id: id, waitForAttach: waitForAttach, consoleSize: consoleSize, report: report)
            report("exit \(code)")
            close(statusFD)
            if let record = try? engine.store.load(id: id), record.autoRemove {
                // `run --rm` waits for this removal (as docker's CLI does). The network teardown
                // started at the exit goes on meanwhile (its state outside the container's
                // directory) and ends before this process does.
                let teardown = detachedTeardown.withLock { $0 }
                try? engine.removeFiles(id: id, network: teardown == nil)
                try? teardown?.value()
            } else {
                // Nobody waits for the network teardown: it yields the CPU (the CNI plugins inherit
                // our priority) to containers starting meanwhile.
                _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)
                try? engine.disconnectNetwork(id: id)
            }
            exit(0)
        } catch {
            let mapped = Engine.mapStartError(error)
            // One line on the status pipe: a guest console's CRLF is a newline too (Swift's "\r\n"
            // is one Character, which splitting at "\n" missed: the message ended at the first one).
            let message = "\(error)".split(whereSeparator: \.isNewline).joined(separator: " ")
            _ = try? engine.store.update(id: id) {
                $0.status = .created
                $0.exitCode = mapped.exitCode
                $0.error = message
                $0.monitorPid = nil
                $0.restarting = nil
            }
            // A `run --rm` whose start failed finds its container gone when it reads the error, as
            // docker's does.
            if let record = try? engine.store.load(id: id), record.autoRemove { try? engine.removeFiles(id: id) }
            report("error \(mapped.exitCode) \(message)")
            close(statusFD)
            exit(1)
        }
    }

    private static func run(
        engine: Engine, id: String, waitForAttach: Bool, consoleSize: ConsoleSize?,
        report: (String) -> Void
    ) throws -> Int32 {
        let store = engine.store
        let logFD = try sysCall("open \(store.logPath(for: id))") {
            open(store.logPath(for: id), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
        }
        defer { close(logFD) }
        let log = ContainerLogWriter(
            fd: logFD, path: store.logPath(for: id), config: (try? store.load(id: id))?.logConfig ?? .jsonFile)
        RuntimeWarnings.handler = { message in log.append(Array(("skiff: warning: " + message + "\n").utf8)[...], stream: "stderr") }
        let server = try AttachServer(directory: store.directory(for: id))
        defer { unlink(store.directory(for: id) + "/" + AttachSocket.name) }
        if waitForAttach { report("listening") }

        var record = try store.load(id: id)
        let myStart = ProcStat.read(pid: getpid())?.startTime
        var first = true
        var ports: PortReservation?
        var backoff: Double?
        var code: Int32 = 0
        var size = consoleSize
        while true {
            let started = MonotonicClock.seconds()
            let current: any ContainerRunning
            // The network namespace exists before the runtime joins it by path; the CNI ADD that
            // wires it overlaps the runtime's create and is over before the program starts.
            var network: PendingNetwork?
            // docker's 127.0.0.11 on user networks, served while the program runs.
            var dns: EmbeddedDNS?
            // A restart sees the networks `network connect`/`disconnect` changed during the backoff.
            if !first, let latest = try? store.load(id: id) { record = latest }
            do {
                network = try engine.beginConnect(record)
                let pending = network
                let connect = {
                    if let pending { ports = try engine.finishConnect(pending, record: record) }
                }
                let waitForClient = {
                    if first && waitForAttach { server.waitForClient(milliseconds: attachWaitMilliseconds) }
                }
                let beforeStart = {
                    try connect()
                    dns = try engine.startEmbeddedDNS(record)
                    waitForClient()
                }
                if let settings = record.vm {
                    current = try VMContainerRun.start(
                        engine: engine, record: record, settings: settings, size: size,
                        connect: connect, beforeStart: waitForClient)
                } else {
                    current = try ContainerRun.start(
                        engine: engine, id: id, tty: record.hasTTY, interactive: record.isInteractive,
                        size: size, beforeStart: beforeStart)
                }
            } catch {
                dns?.stop()
                // Never tear down under a running ADD.
                _ = network?.wait()
                network?.reservation.release()
                try? engine.disconnectNetwork(id: id)
                if first { throw error }
                // A restart that fails ends the monitor; the record says why.
                let message = "restart failed: \(error)".split(separator: "\n").joined(separator: " ")
                _ = try? store.update(id: id) {
                    $0.error = message
                    $0.restarting = nil
                }
                break
            }
            let isFirst = first
            try store.update(id: id) {
                $0.status = .running
                $0.pid = current.pid
                $0.startedAt = Timestamp.now()
                $0.finishedAt = nil
                $0.exitCode = nil
                $0.oomKilled = nil
                $0.error = nil
                $0.monitorPid = getpid()
                $0.monitorStartTime = myStart
                $0.restarting = nil
                $0.paused = nil
                if isFirst {
                    $0.stopRequested = nil
                    $0.restartCount = 0
                } else {
                    $0.restartCount = ($0.restartCount ?? 0) + 1
                }
            }
            if first {
                report("started")
                first = false
            }
            // After the report: the journal's write does not delay the caller's start.
            if let running = try? store.load(id: id) { engine.recordEvent(running, "start") }

            // The health check runs while the program does (from the record, so `update` and a
            // restart see the same check).
            let health = record.healthcheck.map { config in
                HealthMonitor(engine: engine, id: id, config: config) { status in
                    // docker's event for each change: "health_status: healthy".
                    if let current = try? engine.store.load(id: id) { engine.recordEvent(current, "health_status: " + status) }
                }
            }
            code = current.pump(server: server, log: log)
            health?.stop()
            dns?.stop()
            // An --rm container never restarts (create refuses --restart with it), and its `run`
            // waits for the removal: start the network teardown now, alongside the rest. The
            // removal's own teardown then waits for this one (a lock) and finds nothing left.
            if record.autoRemove { detachedTeardown.withLock { $0 = engine.beginDetachedTeardown(id: id) } }
            size = current.lastSize ?? size
            log.flush()
            let oomKilled = engine.wasOOMKilled(record, exitCode: code)
            if record.vm == nil { try? engine.runtime.delete(id: id, force: true) }
            engine.removeEmptyCgroupParent()
            // The host ports are free again once the program is gone (its DNAT rules go with the
            // network teardown: before a restart, or after the exit report).
            ports?.release()
            ports = nil
            let ranFor = MonotonicClock.seconds() - started
            // The exit and the decision to restart are one change, so nobody sees a container
            // that is about to come back as simply exited (and removes it meanwhile).
            var restart = false
            let update: EngineContainer?
            do {
                update = try store.update(
                    id: id,
                    {
                        $0.status = .exited
                        $0.exitCode = code
                        $0.oomKilled = oomKilled ? true : nil
                        $0.finishedAt = Timestamp.now()
                        $0.pid = nil
                        restart = $0.policy.shouldRestart(
                            exitCode: code, restartCount: $0.restartCount ?? 0,
                            stopRequested: $0.stopRequested ?? false)
                        if restart { $0.restarting = true }
                    })
            } catch {
                // The store cannot take the exit (its disk is full): the program's exit code still
                // reaches whoever waits for it, and the record shows the monitor lost.
                report("warning the exit (code \(code)) of container \(record.name) could not be recorded: \(error)")
                break
            }
            guard let exited = update else { break }
            // docker's order: the OOM kill, then the exit.
            if oomKilled { engine.recordEvent(exited, "oom") }
            engine.recordEvent(exited, "die", extra: ["exitCode": String(code)])
            record = exited
            guard restart else { break }
            // Nothing of the network outlives a run: the next one gets a fresh namespace.
            try? engine.disconnectNetwork(id: id)
            let delay = RestartPolicy.backoff(previous: backoff, ranFor: ranFor)
            backoff = delay
            guard
                waitBeforeRestart(
                    seconds: delay, server: server, size: &size,
                    stopRequested: {
                        guard let current = try? store.load(id: id) else { return true }  // removed
                        return current.stopRequested ?? false
                    })
            else { break }
        }
        _ = try? store.update(id: id) { $0.restarting = nil }
        server.broadcast(.exit(code))
        server.finish(seconds: 2)
        return code
    }

    /// Sleeps out the backoff while still serving attach clients; false when `stop` came.
    private static func waitBeforeRestart(
        seconds: Double, server: AttachServer, size: inout ConsoleSize?,
        stopRequested: () -> Bool
    ) -> Bool {
        let deadline = MonotonicClock.seconds() + seconds
        while true {
            if stopRequested() { return false }
            let left = deadline - MonotonicClock.seconds()
            if left <= 0 { return true }
            var fds = server.pollDescriptors()
            _ = poll(&fds, nfds_t(fds.count), Int32(min(left, 0.05) * 1000) + 1)
            // Input has nowhere to go until the program runs again; a new size is kept for it.
            for case .resize(let rows, let columns) in server.handle(fds[...]) {
                size = ConsoleSize(height: UInt(rows), width: UInt(columns))
            }
        }
    }
}

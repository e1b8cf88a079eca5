#if canImport(Glibc)
import Glibc
#endif
import LinuxSupport
import OCISpec

/// The OCI runtime operations over one state directory. Each method is one runc command.
public struct Runtime: Sendable {
    public let store: StateStore
    /// runc's --systemd-cgroup: skiff-runtime manages cgroups through cgroupfs only.
    public var systemdCgroup: Bool
    /// The binary re-executed as a container's init stage (`BINARY init`); nil: this process's
    /// own binary. The engine points it at the static `skiff-runtime` next to `skiff`, which
    /// starts in about 1 ms where the engine's own binary takes about 15.
    public var initExecutable: String?

    public init(root: String, systemdCgroup: Bool = false, initExecutable: String? = nil) {
        self.store = StateStore(root: root)
        self.systemdCgroup = systemdCgroup
        self.initExecutable = initExecutable
    }

    /// Options of `create` and `run`, as runc spells them.
    public struct CreateOptions: Sendable {
        public var pidFile: String?
        public var consoleSocket: String?
        /// An already connected console socket (used by `run` to be its own console).
        public var consoleSocketFD: Int32?
        public var noPivot = false
        public var noNewKeyring = false
        public var preserveFDs = 0
        public init() {}
    }

    // MARK: - state, list

    public func state(id: String) throws -> State {
        try store.load(id: id).state(store: store)
    }

    /// Every container with its state, for `list`.
    public func list() -> [(ContainerRecord, State)] {
        store.ids().compactMap { id in
            guard let record = try? store.load(id: id) else { return nil }
            return (record, record.state(store: store))
        }
    }

    // MARK: - start

    /// Lets a created container's init execute the user program.
    public func start(id: String) throws {
        let record = try store.load(id: id)
        let status = record.status(store: store)
        guard status == .created else {
            throw RuntimeError.wrongState(id: id, status: status.rawValue, wanted: "created")
        }
        let fifo = store.fifoPath(for: id)
        let fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENXIO { throw RuntimeError.wrongState(id: id, status: "stopped", wanted: "created") }
            throw RuntimeError.system(SystemError("open \(fifo)"))
        }
        let byte: [UInt8] = [0]
        let written = write(fd, byte, 1)
        unlink(fifo)
        guard written == 1 else {
            close(fd)
            throw RuntimeError.system(SystemError("signal start through \(fifo)"))
        }
        // Init holds the only reading end, close-on-exec: once it is gone (POLLERR on our
        // writing end), the user program has been executed and poststart may run.
        while ProcStat.read(pid: record.pid)?.startTime == record.startTime {
            var pfd = pollfd(fd: fd, events: 0, revents: 0)
            if poll(&pfd, 1, 100) > 0 && pfd.revents & Int16(POLLERR) != 0 { break }
        }
        close(fd)
        let state = State(id: id, status: .running, pid: record.pid, bundle: record.bundle, annotations: record.annotations)
        // The spec: a failing poststart hook is logged, and the other hooks and the lifecycle go on.
        HookRunner.runWarning(record.spec.hooks?.poststart, kind: "poststart", state: state)
    }

    // MARK: - kill

    public func kill(id: String, signal: Int32, all: Bool) throws {
        let record = try store.load(id: id)
        let status = record.status(store: store)
        if all || !record.ownPidNamespace && status == .stopped {
            guard let cgroup = record.cgroup else { return }
            cgroup.signalAll(signal)
            if signal == SIGKILL && status == .paused { try? cgroup.setFrozen(false) }
            return
        }
        guard status != .stopped else {
            throw RuntimeError.wrongState(id: id, status: "stopped", wanted: "running, created or paused")
        }
        guard Glibc.kill(record.pid, signal) == 0 else {
            throw RuntimeError.system(SystemError("kill \(record.pid)"))
        }
        if signal == SIGKILL && status == .paused { try? record.cgroup?.setFrozen(false) }
    }

    // MARK: - delete

    public func delete(id: String, force: Bool) throws {
        let record: ContainerRecord
        do {
            record = try store.load(id: id)
        } catch RuntimeError.invalidConfig(let message) where force {
            RuntimeWarnings.emit(message)
            try store.releaseRootfsMountPoint(id: id)
            store.remove(id: id)
            return
        } catch RuntimeError.containerNotFound where force && FileIO.isDirectory(store.directory(for: id)) {
            // A create killed before it wrote any state: only the directory exists.
            try store.releaseRootfsMountPoint(id: id)
            store.remove(id: id)
            return
        }
        let status = record.status(store: store)
        if status == .running || status == .paused {
            guard force else {
                throw RuntimeError.wrongState(id: id, status: status.rawValue, wanted: "stopped (or use --force)")
            }
        }
        if status != .stopped {
            Glibc.kill(record.pid, SIGKILL)
            if status == .paused { try? record.cgroup?.setFrozen(false) }
            waitUntilGone(record)
        }
        if !record.ownPidNamespace || force {
            record.cgroup?.signalAll(SIGKILL)
        }
        // A cgroup that cannot be removed keeps the record, so `delete --force` can be retried.
        try record.cgroup?.destroy()
        // The root of a container without its own mount namespace, mounted in ours.
        try store.releaseRootfsMountPoint(id: id)
        let state = State(id: id, status: .stopped, pid: 0, bundle: record.bundle, annotations: record.annotations)
        HookRunner.runWarning(record.spec.hooks?.poststop, kind: "poststop", state: state)
        store.remove(id: id)
    }

    private func waitUntilGone(_ record: ContainerRecord) {
        for _ in 0..<2000 {
            if record.status(store: store) == .stopped { return }
            // Reap it if it is our own child (run, exec without detach).
            var status: Int32 = 0
            _ = waitpid(record.pid, &status, WNOHANG)
            usleep(1000)
        }
    }

    // MARK: - pause, resume, ps

    public func pause(id: String) throws {
        let record = try store.load(id: id)
        let status = record.status(store: store)
        guard status == .running || status == .created else {
            throw RuntimeError.wrongState(id: id, status: status.rawValue, wanted: "running")
        }
        guard let cgroup = record.cgroup else { throw RuntimeError.cgroup("container '\(id)' has no cgroup to freeze") }
        try cgroup.setFrozen(true)
    }

    public func resume(id: String) throws {
        let record = try store.load(id: id)
        let status = record.status(store: store)
        guard status == .paused else {
            throw RuntimeError.wrongState(id: id, status: status.rawValue, wanted: "paused")
        }
        try record.cgroup?.setFrozen(false)
    }

    /// The host pids of every process in the container.
    public func processes(id: String) throws -> [Int32] {
        let record = try store.load(id: id)
        return record.cgroup?.processes() ?? (record.status(store: store) == .stopped ? [] : [record.pid])
    }
}

/// Non-fatal problems (a failing poststart hook): printed on stderr and, with --log, logged.
public enum RuntimeWarnings {
    // nonisolated(unsafe): set once at process start, before any thread that could emit exists
    // (skiff-runtime's command line, the container monitor's main), and only read afterwards.
    // A Mutex would need a Sendable closure, and the monitor's captures its non-Sendable log.
    nonisolated(unsafe) public static var handler: (String) -> Void = { message in
        let line = "skiff-runtime: warning: \(message)\n"
        _ = line.withCString { write(2, $0, strlen($0)) }
    }

    public static func emit(_ message: String) { handler(message) }
}

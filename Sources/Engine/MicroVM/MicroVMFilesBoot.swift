#if canImport(Glibc)
import Glibc
#endif
import AgentProtocol
import CShim
import ContainerRuntime
import ImageStore
import LinuxSupport
import Synchronization

/// `cp` of a stopped micro-VM container: its changes are on its scratch disk, an ext4 image its
/// guest's kernel wrote, which skiff never mounts on the host (a guest that broke its kernel could
/// have crafted it to attack the host's). So the copy boots the container's VM once more, files
/// only: the same kernel, agent and disks, no network, no volume, no process of the container.
/// The agent mounts the root filesystem (`mountRootfs`) and serves sessions as a running
/// container's monitor would (`ExecSessions`); then it syncs and powers off.
///
/// One thread boots the VM and serves it, so the VM (QEMU, or `skiff vm run`, both dying with the
/// thread that spawned them) lives exactly as long as that thread: a killed `cp` leaves no VM
/// behind. `MicroVMDiskLock` keeps a start of the container from booting beside it. In a
/// long-lived process (the API server) the VM lingers a few seconds after its last session for
/// the next one (`docker cp` asks the path stat, then copies: one boot instead of two or three);
/// elsewhere it ends with its one session.
final class MicroVMFilesBoot: Sendable {
    private struct State {
        /// Sessions (our ends of socket pairs) waiting for the serving thread.
        var queue: [Int32] = []
        /// Whether the thread still takes sessions.
        var open = true
        /// How long the VM waits for another session once none is left.
        var linger: Double
    }

    /// What the caller and the serving thread share.
    private final class Shared: Sendable {
        let state: Mutex<State>
        /// Wakes the serving thread for a queued session or an end.
        let wake: Int32

        init(linger: Double, first: Int32) throws {
            wake = try sysCall("eventfd") { skiff_eventfd(0) }
            state = Mutex(State(queue: [first], linger: linger))
        }

        deinit {
            closeSessions()
            Glibc.close(wake)
        }

        func signal() {
            var one: UInt64 = 1
            _ = Glibc.write(wake, &one, 8)
        }

        /// Takes no more sessions and drops the queued ones (their clients see the end).
        func closeSessions() {
            let queued = state.withLock { state -> [Int32] in
                state.open = false
                defer { state.queue = [] }
                return state.queue
            }
            for fd in queued { Glibc.close(fd) }
        }
    }
    private let shared: Shared
    private let serving: BackgroundThread<Void>
    /// The caller's first session (the caller closes it), queued before the VM boots.
    let first: Int32

    /// What a files-only guest gets: enough for its kernel, the agent and the page cache of a copy.
    static let memoryMiB = 256

    /// Files-only boots lingering in this process, by container ID.
    static let lingering = Mutex<[String: MicroVMFilesBoot]>([:])
    /// How long a files-only VM waits for another session: 0 (the default) ends it with its
    /// first; long-lived processes set more (`Engine.lingerFilesOnlyBoots`).
    static let lingerSeconds = Mutex<Double>(0)

    /// Starts booting the VM of the stopped container `record`, whose disk lock the caller holds
    /// (`lock`, held until the VM is gone), with a first session (`first`); `connect` gives more.
    init(engine: Engine, record: EngineContainer, settings: MicroVMSettings, lock: FileLock, linger: Double) throws {
        let directory = engine.store.directory(for: record.id)
        let plan = try MicroVMBootPlan.make(engine: engine, record: record, settings: settings, needsShares: false)
        let launch = MicroVMLaunch(
            memoryMiB: min(settings.memoryMiB, Self.memoryMiB), cpus: 1, consoleLog: directory + "/cp-console.log",
            diskLock: lock.descriptor)
        let (client, server) = try Descriptors.socketPair()
        let shared: Shared
        do {
            shared = try Shared(linger: linger, first: server)
        } catch {
            Glibc.close(client)
            Glibc.close(server)
            throw error
        }
        self.shared = shared
        first = client
        let name = record.name
        serving = BackgroundThread {
            // The lock goes when the VM is gone (the VM's process holds its own copy meanwhile).
            defer { withExtendedLifetime(lock) {} }
            do {
                let (vm, agent) = try plan.boot(launch)
                try Self.serve(
                    agentFD: agent, vm: vm, rootfs: plan.guestRootfs, bootTimeout: plan.bootTimeout, container: name, shared: shared)
            } catch {
                shared.closeSessions()
                throw error
            }
        }
    }

    /// A session on the VM (the caller's end, attach frames as on a running container's
    /// `exec.sock`), or nil when the VM takes no more.
    func connect() throws -> Int32? {
        let (client, server) = try Descriptors.socketPair()
        let queued = shared.state.withLock { state -> Bool in
            guard state.open else { return false }
            state.queue.append(server)
            return true
        }
        guard queued else {
            Glibc.close(client)
            Glibc.close(server)
            return nil
        }
        shared.signal()
        return client
    }

    /// Ends the VM once its sessions are over, without lingering.
    func end() {
        shared.state.withLock { $0.linger = 0 }
        shared.signal()
    }

    /// Whether the VM is gone (or going): it takes no more sessions.
    var isOver: Bool { shared.state.withLock { !$0.open } }

    /// Waits for the VM to be gone. Throws why the boot failed, when it did: a session's own error
    /// then only says that it ended without an answer.
    func finish() throws {
        try serving.value()
    }

    /// The serving thread: the hello, the root filesystem, then sessions until none is left for
    /// the linger time, then the power-off.
    private static func serve(
        agentFD: Int32, vm: any RunningMicroVM, rootfs: GuestRootfs, bootTimeout: Double, container: String, shared: Shared
    ) throws {
        let agent = AgentConnection(fd: agentFD)
        var status: Int32 = 0
        var reaped = false
        let alive = {
            guard !reaped else { return false }
            if waitpid(vm.pid, &status, WNOHANG) == vm.pid { reaped = true }
            return !reaped
        }
        func end(graceful: Bool) {
            shared.closeSessions()
            if graceful && !agent.closed && alive() {
                _ = try? agent.post(.shutdown)
                let deadline = MonotonicClock.seconds() + 10
                while alive() && MonotonicClock.seconds() < deadline { usleep(20_000) }
            }
            if alive() { vm.terminate() }
            if !reaped { waitpid(vm.pid, &status, 0) }
        }
        do {
            let deadline = MonotonicClock.seconds() + bootTimeout
            _ = try agent.handshake(deadline: deadline, alive: alive)
            do {
                _ = try agent.call(.mountRootfs(rootfs: rootfs), deadline: MonotonicClock.seconds() + 60, alive: alive)
            } catch let failure as AgentFailure {
                throw EngineError.startFailed("the files-only boot of container \(container) could not mount its disks: \(failure.message)")
            }
        } catch {
            end(graceful: false)
            if error is EngineError { throw error }
            throw MicroVMError.agentFailed("the files-only boot of container \(container) for cp: \(error)", detail: vm.consoleTail())
        }
        let sessions = ExecSessions()
        var failure: (any Error)?
        var idleSince = MonotonicClock.seconds()
        while true {
            for fd in shared.state.withLock({ state in
                defer { state.queue = [] }
                return state.queue
            }) {
                sessions.adopt(fd)
            }
            if sessions.isEmpty {
                let linger = shared.state.withLock { $0.linger }
                if MonotonicClock.seconds() - idleSince >= linger {
                    // Closed under the lock: a session queued meanwhile is served first.
                    let last = shared.state.withLock { state -> Bool in
                        guard state.queue.isEmpty else { return false }
                        state.open = false
                        return true
                    }
                    if last { break }
                    continue
                }
            } else {
                idleSince = MonotonicClock.seconds()
            }
            var fds = [pollfd(fd: agent.fd, events: Int16(POLLIN), revents: 0), pollfd(fd: shared.wake, events: Int16(POLLIN), revents: 0)]
            fds += sessions.pollDescriptors()
            _ = poll(&fds, nfds_t(fds.count), 200)
            if fds[1].revents != 0 {
                var count: UInt64 = 0
                _ = read(shared.wake, &count, 8)
            }
            do {
                for frame in try agent.receive() { _ = sessions.take(frame) }
                sessions.handle(fds[2...], agent: agent)
            } catch {
                failure = MicroVMError.agentFailed(
                    "the agent of container \(container)'s files-only boot broke the protocol: \(error)", detail: vm.consoleTail(lines: 5))
                break
            }
            if agent.closed || !alive() {
                failure = MicroVMError.agentFailed(
                    "the files-only boot of container \(container) ended during the copy", detail: vm.consoleTail(lines: 5))
                break
            }
        }
        // Sessions still open (after a failure) see their end before the VM's.
        sessions.dropAll()
        end(graceful: failure == nil)
        if let failure { throw failure }
    }
}

extension Engine {
    /// Lets this process's files-only boots (`cp`, `export`, `diff`, `commit` and the path stat of
    /// a stopped micro-VM container) linger `seconds` for the next request: for long-lived
    /// processes such as the API server, where `docker cp` asks twice or three times.
    public static func lingerFilesOnlyBoots(seconds: Double) {
        MicroVMFilesBoot.lingerSeconds.withLock { $0 = max(0, seconds) }
    }

    /// Ends a lingering files-only boot of `id` in this process and waits for its VM to be gone
    /// (a start or a removal of the container must not wait out the linger).
    func endFilesOnlyBoot(id: String) {
        guard let boot = MicroVMFilesBoot.lingering.withLock({ $0.removeValue(forKey: id) }) else { return }
        boot.end()
        try? boot.finish()
    }
}

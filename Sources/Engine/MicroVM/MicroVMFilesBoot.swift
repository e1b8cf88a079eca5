#if canImport(Glibc)
import Glibc
#endif
import AgentProtocol
import ContainerRuntime
import ImageStore
import LinuxSupport

/// `cp` of a stopped micro-VM container: its changes are on its scratch disk, an ext4 image its
/// guest's kernel wrote, which skiff never mounts on the host (a guest that broke its kernel could
/// have crafted it to attack the host's). So the copy boots the container's VM once more, files
/// only: the same kernel, agent and disks, no network, no volume, no process of the container.
/// The agent mounts the root filesystem (`mountRootfs`) and serves the one session the command
/// brings, as a running container's monitor would (`ExecSessions`); then it syncs and powers off.
///
/// The VM is a child of the command that copies (QEMU, or `skiff vm run` dying with it), and the
/// agent powers off when the command's end of its stream closes: a killed `cp` leaves no VM
/// behind. `MicroVMDiskLock` keeps a start of the container from booting beside it.
final class MicroVMFilesBoot {
    /// The command's end of the session: attach frames, as on a running container's `exec.sock`
    /// (closed by `finish`).
    private(set) var client: Int32
    private let serving: BackgroundThread<Void>
    private let vm: any RunningMicroVM

    /// What a files-only guest gets: enough for its kernel, the agent and the page cache of a copy.
    static let memoryMiB = 256

    /// Boots the VM of the stopped container `record` (whose disk lock the caller holds, passed as
    /// `lock`) and starts serving; the session's request is the caller's to send on `client`.
    init(engine: Engine, record: EngineContainer, settings: MicroVMSettings, lock: FileLock) throws {
        let directory = engine.store.directory(for: record.id)
        let plan = try MicroVMBootPlan.make(engine: engine, record: record, settings: settings, needsShares: false)
        let (vm, ours) = try plan.boot(
            MicroVMLaunch(
                memoryMiB: min(settings.memoryMiB, Self.memoryMiB), cpus: 1, consoleLog: directory + "/cp-console.log",
                diskLock: lock.descriptor))
        let (client, server) = try Descriptors.socketPair()
        self.client = client
        self.vm = vm
        let rootfs = plan.guestRootfs
        let name = record.name
        serving = BackgroundThread {
            // The lock goes when the VM is gone (the VM's process holds its own copy meanwhile).
            defer { withExtendedLifetime(lock) {} }
            try Self.serve(agentFD: ours, sessionFD: server, vm: vm, rootfs: rootfs, container: name)
        }
    }

    /// Waits for the VM to be gone: the session is over (the client's end closed or its exit
    /// sent), the guest synced and powered off. Throws why the boot failed, when it did: the
    /// session's own error then only says that it ended without an answer.
    func finish() throws {
        closeClient()
        try serving.value()
    }

    deinit { closeClient() }

    private func closeClient() {
        if client >= 0 { close(client) }
        client = -1
    }

    /// The agent's side of the boot, on the serving thread: the hello, the root filesystem, then
    /// the session until it ends, then the power-off. `sessionFD` is taken over.
    private static func serve(agentFD: Int32, sessionFD: Int32, vm: any RunningMicroVM, rootfs: GuestRootfs, container: String) throws {
        let agent = AgentConnection(fd: agentFD)
        var status: Int32 = 0
        var reaped = false
        let alive = {
            guard !reaped else { return false }
            if waitpid(vm.pid, &status, WNOHANG) == vm.pid { reaped = true }
            return !reaped
        }
        func end(graceful: Bool) {
            if graceful && !agent.closed && alive() {
                _ = try? agent.post(.shutdown)
                let deadline = MonotonicClock.seconds() + 10
                while alive() && MonotonicClock.seconds() < deadline { usleep(20_000) }
            }
            if alive() { vm.terminate() }
            if !reaped { waitpid(vm.pid, &status, 0) }
        }
        do {
            let deadline = MonotonicClock.seconds() + VMContainerRun.bootTimeout
            _ = try agent.handshake(deadline: deadline, alive: alive)
            do {
                _ = try agent.call(.mountRootfs(rootfs: rootfs), deadline: MonotonicClock.seconds() + 60, alive: alive)
            } catch let failure as AgentFailure {
                throw EngineError.startFailed("the files-only boot of container \(container) could not mount its disks: \(failure.message)")
            }
        } catch {
            close(sessionFD)
            end(graceful: false)
            if error is EngineError { throw error }
            throw MicroVMError.agentFailed("the files-only boot of container \(container) for cp: \(error)", detail: vm.consoleTail())
        }
        let sessions = ExecSessions(adopting: sessionFD)
        var failure: (any Error)?
        while !sessions.isEmpty {
            var fds = [pollfd(fd: agent.fd, events: Int16(POLLIN), revents: 0)] + sessions.pollDescriptors()
            _ = poll(&fds, nfds_t(fds.count), 200)
            do {
                for frame in try agent.receive() { _ = sessions.take(frame) }
                sessions.handle(fds[1...], agent: agent)
            } catch {
                failure = MicroVMError.agentFailed(
                    "the agent of container \(container)'s files-only boot broke the protocol: \(error)", detail: vm.consoleTail(lines: 5))
                break
            }
            if !sessions.isEmpty && (agent.closed || !alive()) {
                failure = MicroVMError.agentFailed(
                    "the files-only boot of container \(container) ended during the copy", detail: vm.consoleTail(lines: 5))
                break
            }
        }
        withExtendedLifetime(sessions) {}
        end(graceful: failure == nil)
        if let failure { throw failure }
    }
}

#if canImport(Glibc)
import Glibc
#endif
import AgentProtocol
import CShim
import ContainerRuntime
import ImageStore
import LinuxSupport
import OCISpec

/// One run of a container's program in its own micro-VM, under its monitor: the VM booted by the
/// backend, the agent greeted, the container created and started in the guest from the spec the
/// process path would run, and the loop that copies output to the log and attach clients, passes
/// input, window sizes and signals on, and returns the exit code. The monitor hosts the VM (QEMU
/// or `skiff vm run` is its child), so nothing of it outlives the monitor.
final class VMContainerRun: ContainerRunning {
    static let initHandle: UInt32 = 1

    let vm: any RunningMicroVM
    let agent: AgentConnection
    private let pidFD: Int32
    private let tty: Bool
    private(set) var lastSize: ConsoleSize?
    /// The container's hosts file on the host, rewritten when peers join or leave its network;
    /// the pump passes each new version to the guest.
    private var hostsFile: String?
    private var hostsSent: [UInt8] = []
    private var hostsCheckedAt = 0.0
    /// `skiff exec` sessions, on the container's `exec.sock`.
    private var execs: ExecSessions?
    /// A `--rm` container's VM: nothing of the guest outlives the program (its scratch disk goes
    /// with the container, volumes are written through 9p as they change), so it ends at once
    /// instead of powering off cleanly.
    private var disposable = false
    /// Held until the VM is gone (`MicroVMDiskLock`).
    private var diskLock: FileLock?

    var pid: Int32 { vm.pid }

    private init(vm: any RunningMicroVM, agent: AgentConnection, tty: Bool) {
        self.vm = vm
        self.agent = agent
        self.tty = tty
        pidFD = skiff_pidfd_open(vm.pid)
    }

    deinit {
        if pidFD >= 0 { close(pidFD) }
    }

    /// How long the guest may take from launch to the agent's hello: seconds under TCG, well under
    /// one with KVM. The store's `vm.bootTimeout` (`EngineConfig`) sets it, else 120.
    static func bootTimeout(configured: Double?) -> Double { configured ?? 120 }

    var isAlive: Bool {
        var status: Int32 = 0
        return waitpid(vm.pid, &status, WNOHANG) == 0
    }

    /// `connect` finishes the container's network (the guest needs its address before it boots);
    /// `beforeStart` runs once the container is created (the monitor waits there for `run -it`'s client).
    static func start(
        engine: Engine, record: EngineContainer, settings: MicroVMSettings, size: ConsoleSize?,
        connect: () throws -> Void, beforeStart: () throws -> Void
    ) throws -> VMContainerRun {
        let directory = engine.store.directory(for: record.id)
        let hostSpec = try RuntimeJSON.decode(Spec.self, from: try FileIO.read(directory + "/config.json"))
        let (spec, shares) = try GuestSpec.translate(hostSpec, containerDirectory: directory)
        // A record from before create kept the backend has none: the default, QEMU with shares.
        let plan = try MicroVMBootPlan.make(engine: engine, record: record, settings: settings, needsShares: !shares.isEmpty)
        // A `cp` of the stopped container may have a VM on its disks still: it ends within seconds.
        let diskLock = try MicroVMDiskLock.acquire(containerDirectory: directory, container: record.name, seconds: 30)
        // exec, cp, top and stats reach the guest only through this socket: a container that
        // cannot serve it does not start (it would run beyond their reach).
        let execs: ExecSessions
        do {
            execs = try ExecSessions(directory: directory)
        } catch {
            throw EngineError.startFailed("cannot serve exec sessions on \(directory)/\(AttachSocket.execName): \(error)")
        }

        try connect()
        let hosts = (try? FileIO.readString(directory + "/hosts")) ?? ""
        let resolvConf = (try? FileIO.readString(directory + "/resolv.conf")) ?? ""
        var network = GuestNetwork(interfaces: [], routes: [], hosts: hosts, resolvConf: resolvConf, hostname: spec.hostname ?? "")
        var nic: (tap: Int32, mac: String)?
        if let settings = try engine.store.load(id: record.id).networkSettings {
            let attachment = try MicroVMNetwork.attach(
                netns: engine.netnsPath(for: record.id), settings: settings, hosts: hosts,
                resolvConf: resolvConf, hostname: spec.hostname ?? "")
            network = attachment.guest
            nic = (attachment.tap, attachment.mac)
        }
        // The backend's child has its copy; ours goes when the launch is over.
        defer { if let nic { close(nic.tap) } }
        let (vm, agent) = try plan.boot(
            MicroVMLaunch(
                memoryMiB: settings.memoryMiB, cpus: settings.cpus, nic: nic, shares: shares, consoleLog: directory + "/console.log",
                diskLock: diskLock.descriptor))
        let run = VMContainerRun(vm: vm, agent: AgentConnection(fd: agent), tty: record.hasTTY)
        run.hostsFile = directory + "/hosts"
        run.hostsSent = Array(hosts.utf8)
        run.execs = execs
        run.disposable = record.autoRemove
        run.diskLock = diskLock
        do {
            let alive = { run.isAlive }
            _ = try run.agent.handshake(deadline: MonotonicClock.seconds() + plan.bootTimeout, alive: alive)
            var setup = ContainerSetup(
                spec: spec, handle: initHandle, terminal: record.hasTTY, stdin: record.isInteractive,
                rootfs: plan.guestRootfs,
                shares: shares.map { GuestShare(tag: $0.tag, readOnly: $0.readOnly) })
            setup.network = network
            let deadline = MonotonicClock.seconds() + 60
            do {
                _ = try run.agent.call(.create(setup: setup), deadline: deadline, alive: alive)
            } catch let failure as AgentFailure {
                throw Self.engineError(failure)
            }
            if let size {
                try run.agent.post(.resize(handle: initHandle, rows: UInt16(clamping: size.height), columns: UInt16(clamping: size.width)))
            }
            try beforeStart()
            do {
                _ = try run.agent.call(.start, deadline: deadline, alive: alive)
            } catch let failure as AgentFailure {
                throw Self.engineError(failure)
            }
        } catch {
            run.vm.terminate()
            var status: Int32 = 0
            waitpid(run.vm.pid, &status, 0)
            if error is EngineError { throw error }
            throw MicroVMError.agentFailed("\(error)", detail: run.consoleTail())
        }
        return run
    }

    /// docker's exit codes for a failed start, from the agent's failure kind.
    static func engineError(_ failure: AgentFailure) -> EngineError {
        switch failure.kind {
        case .executableNotFound: return .commandNotFound(failure.message)
        case .notExecutable: return .cannotInvoke(failure.message)
        default: return .startFailed(failure.message)
        }
    }

    func consoleTail(lines: Int = 15) -> String { vm.consoleTail(lines: lines) }

    /// Copies output and input until the program exits; returns its exit code.
    func pump(server: AttachServer, log: ContainerLogWriter) -> Int32 {
        var code: Int32?
        while code == nil {
            var fds = [pollfd(fd: agent.fd, events: Int16(POLLIN), revents: 0), pollfd(fd: pidFD, events: Int16(POLLIN), revents: 0)]
            let execIndex = fds.count
            fds += execs?.pollDescriptors() ?? []
            let serverIndex = fds.count
            fds += server.pollDescriptors()
            // Once a second at the least, to pass a rewritten hosts file on.
            _ = poll(&fds, nfds_t(fds.count), 1000)
            syncHosts()
            do {
                for frame in try agent.receive() where execs?.take(frame) != true { code = handle(frame, server: server, log: log) ?? code }
                for frame in server.handle(fds[serverIndex...]) { try forward(frame) }
                execs?.handle(fds[execIndex..<serverIndex], agent: agent)
            } catch {
                log.append(Array("skiff: the micro-VM's agent broke the protocol: \(error); stopping the VM\n".utf8)[...], stream: "stderr")
                vm.terminate()
            }
            if code == nil && (agent.closed || !isAlive) {
                // Whatever was sent before the end still counts.
                for frame in (try? agent.receive()) ?? [] { code = handle(frame, server: server, log: log) ?? code }
                if code == nil {
                    log.append(
                        Array("skiff: the micro-VM ended before the container's program did\(consoleTail(lines: 5))\n".utf8)[...],
                        stream: "stderr")
                    code = 137
                }
            }
        }
        shutDown()
        return code ?? 255
    }

    /// Sends the hosts file to the guest when the host's copy changed (a peer joined or left).
    /// At most once a second: the pump wakes for every output frame, and a chatty program must not
    /// cost a file read each time.
    private func syncHosts() {
        let now = MonotonicClock.seconds()
        guard now - hostsCheckedAt >= 1 else { return }
        hostsCheckedAt = now
        guard let hostsFile, let current = try? FileIO.read(hostsFile), current != hostsSent else { return }
        hostsSent = current
        _ = try? agent.post(.updateHosts(hosts: String(decoding: current, as: UTF8.self)))
    }

    /// One frame from the agent; the exit code when the container's program ended.
    private func handle(_ frame: Frame, server: AttachServer, log: ContainerLogWriter) -> Int32? {
        switch frame.kind {
        case .data where frame.channel == Self.initHandle:
            guard let (stream, bytes) = try? AgentMessages.stream(of: frame) else { return nil }
            let name = stream == .stderr ? "stderr" : "stdout"
            log.append(bytes, stream: name)
            server.broadcast(stream == .stderr ? .stderr(Array(bytes)) : .stdout(Array(bytes)))
        case .event:
            if case .exited(let handle, let status, _)? = try? AgentMessages.decode(AgentEvent.self, from: frame, kind: .event),
                handle == Self.initHandle
            {
                return status
            }
        default:
            break  // answers to requests posted without waiting, output of other handles
        }
        return nil
    }

    private func forward(_ frame: AttachFrame) throws {
        switch frame {
        case .stdin(let bytes):
            for data in AgentMessages.data(bytes, stream: .stdin, handle: Self.initHandle) { try agent.send(data) }
        case .closeStdin:
            if !tty { try agent.send(AgentMessages.close(stream: .stdin, handle: Self.initHandle)) }
        case .resize(let rows, let columns):
            lastSize = ConsoleSize(height: UInt(rows), width: UInt(columns))
            try agent.post(.resize(handle: Self.initHandle, rows: rows, columns: columns))
        case .signal(let number, let all):
            try agent.post(.signal(handle: Self.initHandle, signal: number, all: all))
        case .stdout, .stderr, .exit, .exec:
            break
        }
    }

    /// Asks the agent to power the guest off, and ends the VM if it does not within 10 seconds;
    /// a disposable VM ends at once (the guest's clean power-off was 1.6 s of a `run --vm --rm
    /// true` under TCG on a quiet host, bench/vm-run).
    private func shutDown() {
        if disposable { vm.terminate() }
        if !agent.closed && !disposable { _ = try? agent.post(.shutdown) }
        let deadline = MonotonicClock.seconds() + 10
        while isAlive && MonotonicClock.seconds() < deadline {
            var pfd = pollfd(fd: pidFD, events: Int16(POLLIN), revents: 0)
            _ = poll(&pfd, 1, 100)
        }
        if isAlive { vm.terminate() }
        var status: Int32 = 0
        waitpid(vm.pid, &status, 0)
        diskLock = nil
    }
}

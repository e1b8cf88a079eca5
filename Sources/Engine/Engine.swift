#if canImport(Glibc)
import Glibc
#endif
import ContainerRuntime
import ImageStore
import LinuxSupport
import Networking
import OCISpec

/// The container engine as a library: daemonless, every call is a short operation over the
/// locked `ContainerStore`, the image store (overlay rootfs) and the OCI runtime called
/// in-process. Running containers are held by a monitor process each (`ContainerMonitor`).
public struct Engine: Sendable {
    public let store: ContainerStore
    public let images: ImageStore
    public let runtime: Runtime
    public let runtimeRoot: String
    /// The `skiff` binary re-executed as the monitor.
    public let executable: String

    public static let defaultRuntimeRoot = "/run/skiff/runtime"

    public init(root: String, runtimeRoot: String = Engine.defaultRuntimeRoot, executable: String) throws {
        self.store = ContainerStore(root: root)
        self.images = try ImageStore(root: root)
        self.runtimeRoot = runtimeRoot
        self.runtime = Runtime(root: runtimeRoot, initExecutable: Engine.siblingRuntime(of: executable))
        self.executable = executable
    }

    /// The `skiff-runtime` built with `skiff` (same directory), used for containers' init stage:
    /// a static executable that starts in about 1 ms instead of re-executing the much larger
    /// `skiff`. nil when absent (the runtime then re-executes `skiff` itself as `skiff init`).
    static func siblingRuntime(of executable: String) -> String? {
        guard let slash = executable.lastIndex(of: "/") else { return nil }
        let candidate = String(executable[..<slash]) + "/skiff-runtime"
        return access(candidate, X_OK) == 0 ? candidate : nil
    }

    // MARK: - create

    /// Makes a container from `image` (already in the store): record, rootfs, spec. Nothing is
    /// left behind when it fails.
    public func create(image: Image, imageName: String, options: RunOptions) throws -> EngineContainer {
        var options = options
        if options.publishAll {
            options.ports = try PortMapping.publishingAll(
                exposed: Array((image.config.config?.exposedPorts ?? [:]).keys) + (try ExposeOption.parse(options.expose)),
                published: options.ports)
        }
        // --link NAME[:ALIAS]: a hosts entry for a running container's address, as docker's legacy links.
        for link in options.links { options.addHosts += try linkHosts(link) }
        if !options.volumesFrom.isEmpty { options.volumes = try volumesFrom(options) }
        if let name = options.name { try ContainerStore.validate(name: name) }
        try options.validateInteractiveOptions()
        let seccompProfile = try Self.validate(options, imageConfig: image.config.config)
        try checkNetworkOptions(options)
        // --network container:NAME: that container's hostname and host files; recorded by ID.
        let networkOwner = try networkOwner(options)
        if let networkOwner {
            options.network = .container(networkOwner.id)
            options.hostname = networkFilesOwner(networkOwner).network?.hostname
        }
        if var vm = options.vm {
            try prepareMicroVM(&vm)
            options.vm = vm
        }
        return try store.locked {
            let records = store.all()
            if let name = options.name, let owner = records.first(where: { $0.name == name }) {
                throw EngineError.nameInUse(name: name, id: owner.id)
            }
            let name = try options.name ?? store.generateName(taken: Set(records.map(\.name)))
            let id = try ContainerStore.newID()
            var userNamespace: UserNamespaceMapping?
            if case .auto(let size) = options.userns {
                userNamespace = try SubordinateIDs.allocate(size: size, taken: records.compactMap(\.userNamespace))
            }
            let rootfs = try images.prepareRootfs(
                image: image, containerID: id,
                shift: userNamespace.map { (hostID: $0.hostID, size: $0.size) },
                durable: !options.autoRemove)
            // A kill from here to the record leaves a directory with its creator lease and
            // mount: `ps -a` lists it as incomplete and the next locked command removes it.
            FaultInjection.point("create-rootfs-mounted")
            var madeVolumes: [String] = []
            do {
                let directory = store.directory(for: id)
                let passwd = try RootfsFiles.read(rootfs: rootfs, path: "/etc/passwd")
                let group = try RootfsFiles.read(rootfs: rootfs, path: "/etc/group")
                var user = try UserResolution.resolve(options.user ?? image.config.config?.user ?? "", passwd: passwd, group: group)
                for gid in try UserResolution.groups(options.groupAdd, group: group)
                where gid != user.gid && !user.additionalGids.contains(gid) {
                    user.additionalGids.append(gid)
                }
                var inputs = SpecBuilder.Inputs(
                    id: id, imageName: imageName, imageConfig: image.config.config, options: options,
                    user: user, rootfs: rootfs)
                inputs.seccompProfile = seccompProfile
                inputs.userNamespace = userNamespace
                if options.privileged { inputs.hostDevices = HostDevices.list() }
                let volumes = try prepareVolumes(options: options, config: image.config.config, rootfs: rootfs, inputs: &inputs)
                madeVolumes = volumes.made
                let hostname = SpecBuilder.hostname(id: id, options: options)
                inputs.hostnameFile = directory + "/hostname"
                try FileIO.write(directory + "/hostname", Array((hostname + "\n").utf8))
                inputs.hostsFile = directory + "/hosts"
                inputs.resolvConfFile = directory + "/resolv.conf"
                try writeHostFiles(directory: directory, name: name, hostname: hostname, options: options)
                if case .bridge = options.network { inputs.networkNamespacePath = netnsPath(for: id) }
                if let networkOwner {
                    let files = store.directory(for: networkFilesOwner(networkOwner).id)
                    (inputs.hostsFile, inputs.resolvConfFile) = (files + "/hosts", files + "/resolv.conf")
                    inputs.networkNamespacePath = netnsPath(for: id)
                }
                inputs.sharedNamespacePaths = try sharedNamespacePaths(options)
                let spec = try SpecBuilder.build(inputs)
                try FileIO.writeAtomically(
                    directory + "/config.json", try RuntimeJSON.encode(spec, pretty: true), mode: 0o600,
                    durable: !options.autoRemove)
                FaultInjection.point("create-spec-written")
                var record = EngineContainer(
                    id: id, name: name, image: imageName, imageID: image.id.description, created: Timestamp.now(),
                    command: spec.process?.args ?? [], autoRemove: options.autoRemove,
                    stopSignal: options.stopSignal ?? image.config.config?.stopSignal)
                record.labels = Self.labels(image: image.config.config?.labels, options: options.labels)
                let exposed = Set(image.config.config?.exposedPorts.map { Array($0.keys) } ?? []).union(
                    try ExposeOption.parse(options.expose))
                record.exposedPorts = exposed.isEmpty ? nil : exposed.sorted()
                record.volumes = volumes.all.isEmpty ? nil : volumes.all
                record.anonymousVolumes = volumes.anonymous.isEmpty ? nil : volumes.anonymous
                record.applyInteractiveOptions(options)
                record.userNamespace = userNamespace
                record.vm = options.vm
                record.logConfig = options.logConfig == .jsonFile ? nil : options.logConfig
                record.stopTimeout = options.stopTimeout
                record.healthcheck = try HealthConfig.resolve(image: image.config.config?.healthcheck, options: options.health)
                // The backend is the container's from now on (inspect shows it; a restart keeps it).
                if options.vm != nil { record.vm?.backend = try Self.microVMBackend(options, imageConfig: image.config.config) }
                var networkName: String?
                if case .bridge(let network) = options.network { networkName = network }
                record.network = ContainerNetworkConfig(
                    mode: networkName == nil ? options.network.name : "bridge", network: networkName,
                    ports: options.ports, hostname: hostname, extraHosts: options.addHosts,
                    aliases: options.networkAliases)
                record.network?.ipAddress = options.ipAddress
                record.network?.macAddress = try options.macAddress.map { try MACAddress(parsing: $0).description }
                try store.save(record)
                recordEvent(record, "create")
                return record
            } catch {
                try? images.release(containerID: id)
                for volume in madeVolumes { try? volumes.remove(volume) }
                throw error
            }
        }
    }

    // MARK: - status

    static func isAlive(pid: Int32?, startTime: UInt64?) -> Bool {
        guard let pid, pid > 0, let stat = ProcStat.read(pid: pid), stat.state != "Z" else { return false }
        return startTime == nil || stat.startTime == startTime
    }

    /// The truth about a container: the record, checked against its monitor and the runtime.
    public func liveStatus(_ record: EngineContainer) -> LiveStatus {
        let monitorAlive = Self.isAlive(pid: record.monitorPid, startTime: record.monitorStartTime)
        switch record.status {
        case .exited:
            return LiveStatus(state: .exited, exitCode: record.exitCode, monitorLost: false)
        case .created:
            return LiveStatus(state: monitorAlive ? .running : .created, exitCode: record.exitCode, monitorLost: false)
        case .running:
            if monitorAlive { return LiveStatus(state: .running, exitCode: nil, monitorLost: false) }
            if let state = try? runtime.state(id: record.id),
                state.status == .running || state.status == .paused || state.status == .created
            {
                return LiveStatus(state: .running, exitCode: nil, monitorLost: true)
            }
            return LiveStatus(state: .exited, exitCode: nil, monitorLost: true)
        }
    }

    // MARK: - start

    /// What `start` returns: for an attached start, the log to follow and the monitor's status
    /// pipe (which reports `exit N` at the end).
    /// Unchecked Sendable: used by the one command that started the container, on one thread at
    /// a time; the mutable buffer and attach descriptor are never touched concurrently.
    public final class StartHandle: @unchecked Sendable {
        public let container: EngineContainer
        public let logReader: ContainerLogReader?
        /// The log, read from its end (for an attached start); `logReader` reads through it.
        private var log: OwnedFD?
        /// The monitor's status pipe.
        private let status: OwnedFD
        var statusFD: Int32 { status.raw }
        private var buffer: [UInt8] = []
        /// For a start with `streams`: the connection to the monitor's attach socket.
        var attach: OwnedFD?
        /// The attach connection's descriptor (-1 without one), owned by the handle.
        public var attachFD: Int32 { attach?.raw ?? -1 }

        init(container: EngineContainer, log: consuming OwnedFD?, logPath: String, status: consuming OwnedFD) {
            self.container = container
            self.status = status
            switch consume log {
            case .some(let fd):
                self.logReader = ContainerLogReader(fd: fd.raw, path: logPath)
                self.log = consume fd
            case .none:
                self.logReader = nil
            }
        }

        /// The next line the monitor sends; nil when it closed the pipe (or `timeout` ms passed: `timedOut`).
        func nextLine(timeoutMS: Int32 = -1, timedOut: inout Bool) -> String? {
            timedOut = false
            while true {
                if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: buffer[..<newline], as: UTF8.self)
                    buffer.removeFirst(newline + 1)
                    return line
                }
                var pfd = pollfd(fd: statusFD, events: Int16(POLLIN), revents: 0)
                let ready = poll(&pfd, 1, timeoutMS)
                if ready < 0 && errno == EINTR {
                    timedOut = true
                    return nil
                }
                if ready == 0 {
                    timedOut = true
                    return nil
                }
                var chunk = [UInt8](repeating: 0, count: 512)
                let n = chunk.withUnsafeMutableBytes { read(statusFD, $0.baseAddress, 512) }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { return nil }
                buffer.append(contentsOf: chunk[0..<n])
            }
        }

        /// Prints the container's output until it exits; returns its exit code (nil if the
        /// monitor disappeared). `onTick` runs between reads (signal forwarding).
        public func follow(timestamps: Bool = false, onTick: () -> Void = {}) -> Int32? {
            while true {
                var timedOut = false
                let line = nextLine(timeoutMS: 50, timedOut: &timedOut)
                if let reader = logReader { ContainerLogReader.print(reader.readAvailable(), timestamps: timestamps) }
                onTick()
                if timedOut { continue }
                guard let line else { return nil }
                // What went wrong after the start ("error CODE MESSAGE") or what the user must know.
                if line.hasPrefix("warning ") || line.hasPrefix("error ") {
                    let words = line.split(separator: " ", maxSplits: line.hasPrefix("error ") ? 2 : 1)
                    let text = "skiff: \(words[0]): \(words.last ?? "")\n"
                    _ = text.withCString { write(2, $0, strlen($0)) }
                    if words[0] == "error", words.count == 3, let code = Int32(words[1]) { return code }
                    continue
                }
                if line.hasPrefix("exit "), let code = Int32(line.dropFirst(5)) {
                    if let reader = logReader { ContainerLogReader.print(reader.readAvailable(), timestamps: timestamps) }
                    return code
                }
            }
        }
    }

    /// Starts a created (or exited) container under a new monitor and returns once the program
    /// runs, or throws what went wrong (command not found: 127, cannot invoke: 126).
    /// With `streams`, the monitor waits for an attach connection before it starts the program
    /// (so nothing it prints is missed) and the handle holds that connection.
    public func start(_ reference: String, attach: Bool, streams: AttachRequest? = nil) throws -> StartHandle {
        let record = try store.resolve(reference)
        let live = liveStatus(record)
        if live.isRunning { throw EngineError.wrongState(container: record.name, status: "already running", action: "start") }
        if isRestarting(record) { throw EngineError.wrongState(container: record.name, status: "restarting", action: "start") }
        if var vm = record.vm {
            try prepareMicroVM(&vm)
            // A files-only VM of this process lingering on its disks ends now, not after its linger.
            endFilesOnlyBoot(id: record.id)
        }
        // The previous run's monitor may still be tearing its network down after the exit it
        // reported (`stop` returns at the exit): a new monitor must not race it for the
        // namespace path and the addresses.
        let deadline = MonotonicClock.seconds() + 15
        while Self.isAlive(pid: record.monitorPid, startTime: record.monitorStartTime), MonotonicClock.seconds() < deadline {
            usleep(2000)
        }
        // A previous run's runtime state (its monitor was killed) would block the ID.
        if (try? runtime.state(id: record.id)) != nil { try? runtime.delete(id: record.id, force: true) }

        let logPath = store.logPath(for: record.id)
        _ = try OwnedFD("create \(logPath)") { open(logPath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640) }
        var log: OwnedFD?
        if attach {
            let opened = try OwnedFD("open \(logPath)") { open(logPath, O_RDONLY | O_CLOEXEC) }
            lseek(opened.raw, 0, SEEK_END)
            log = consume opened
        }
        let (statusReadEnd, statusWriteEnd) = try Descriptors.pipe()
        let statusRead = OwnedFD(statusReadEnd)
        let pid: Int32
        do {
            // Closed when the monitor has its copy (or failed to start).
            let statusWrite = OwnedFD(statusWriteEnd)
            pid = try MonitorLauncher.spawn(
                executable: executable,
                arguments: [
                    "container-monitor", "--root", store.root, "--runtime-root", runtimeRoot, record.id,
                ] + (streams?.monitorArguments ?? []), statusFD: statusWrite.raw)
        }
        let startTime = ProcStat.read(pid: pid)?.startTime
        try store.update(id: record.id) {
            $0.monitorPid = pid
            $0.monitorStartTime = startTime
        }
        let handle = StartHandle(container: record, log: log, logPath: logPath, status: statusRead)
        var timedOut = false
        guard var first = handle.nextLine(timedOut: &timedOut) else {
            throw EngineError.startFailed("the monitor exited before starting the container")
        }
        if first == "listening", let streams {
            handle.attach = OwnedFD(try AttachSocket.connect(directory: store.directory(for: record.id)))
            if let size = streams.consoleSize {
                try FileIO.writeAll(
                    fd: handle.attachFD, AttachFrame.resize(rows: size.rows, columns: size.columns).encoded(),
                    what: "attach socket")
            }
            guard let next = handle.nextLine(timedOut: &timedOut) else {
                throw EngineError.startFailed("the monitor exited before starting the container")
            }
            first = next
        }
        if first.hasPrefix("error ") {
            let parts = first.dropFirst(6).split(separator: " ", maxSplits: 1).map(String.init)
            let message = parts.count > 1 ? parts[1] : first
            switch parts.first {
            case "127": throw EngineError.commandNotFound(message)
            case "126": throw EngineError.cannotInvoke(message)
            default: throw EngineError.startFailed(message)
            }
        }
        return handle
    }

    // MARK: - wait, stop, kill

    /// Blocks until the container is no longer running and returns its exit code (nil if unknown).
    public func wait(_ reference: String, timeout: Double? = nil) throws -> Int32? {
        let id = try store.resolve(reference).id
        let deadline = timeout.map { MonotonicClock.seconds() + $0 }
        while true {
            guard FileIO.exists(store.recordPath(for: id)) else { return nil }
            let record = try store.load(id: id)
            let live = liveStatus(record)
            if !live.isRunning { return live.exitCode }
            if let deadline, MonotonicClock.seconds() > deadline { throw EngineError.timedOut(record.name) }
            usleep(10_000)
        }
    }

    /// Sends a signal to the container's init.
    /// As docker: SIGKILL or the container's stop signal also disables its restart policy until
    /// the next start (a restarting container is then simply not restarted); other signals
    /// leave the policy alone.
    public func kill(_ reference: String, signal: Int32) throws {
        let record = try store.resolve(reference)
        let fatal = signal == SIGKILL || signal == (record.stopSignal.flatMap { try? SignalTable.number($0) } ?? SIGTERM)
        if fatal && record.policy != .no {
            try store.update(id: record.id) { $0.stopRequested = true }
            if isRestarting(record) { return }
        }
        guard liveStatus(record).isRunning else {
            throw EngineError.wrongState(container: record.name, status: "not running", action: "kill")
        }
        try deliver(signal, all: false, to: record)
        if signal == SIGKILL { thawAfterSignal(record) }
        recordEvent(record, "kill", extra: ["signal": String(signal)])
    }

    /// Sends `signal` to a running container's program: through the runtime for a process
    /// container, through its monitor (which asks the guest's agent) for one in a micro-VM.
    /// SIGKILL to all of a micro-VM container ends its VM at once, guest agent or not.
    func deliver(_ signal: Int32, all: Bool, to record: EngineContainer) throws {
        guard record.vm != nil else {
            try runtime.kill(id: record.id, signal: signal, all: all)
            return
        }
        if signal == SIGKILL && all {
            if let pid = record.pid, pid > 0, MicroVMBackends.isVMProcess(commandLine: ProcStat.commandLine(pid: pid) ?? []) {
                Glibc.kill(pid, SIGKILL)
            }
            return
        }
        let socket = try AttachSocket.connect(directory: store.directory(for: record.id))
        defer { close(socket) }
        try FileIO.writeAll(fd: socket, AttachFrame.signal(signal, all: all).encoded(), what: "the monitor's attach socket")
    }

    /// docker stop: the stop signal, then SIGKILL after `timeout` seconds (by default the
    /// container's --stop-timeout, else 10).
    public func stop(_ reference: String, timeout: Double? = nil) throws {
        let record = try store.resolve(reference)
        let timeout = timeout ?? Double(record.stopTimeout ?? 10)
        // The monitor must not restart what we stop.
        try store.update(id: record.id) { $0.stopRequested = true }
        let wasRunning = liveStatus(record).isRunning
        defer {
            waitForMonitorAfterStop(record, timeout: timeout)
            if wasRunning { recordEvent(record, "stop") }  // after the monitor's die, as docker
        }
        guard wasRunning else { return }
        let signal = record.stopSignal.flatMap { try? SignalTable.number($0) } ?? SIGTERM
        try? deliver(signal, all: false, to: record)
        thawAfterSignal(record)
        do {
            // --stop-timeout -1: wait as long as it takes, as docker does.
            _ = try wait(record.id, timeout: timeout < 0 ? nil : timeout)
            return
        } catch EngineError.timedOut {
        }
        try? deliver(SIGKILL, all: true, to: record)
        try? deliver(SIGKILL, all: false, to: record)
        _ = try? wait(record.id, timeout: 10)
    }

    // MARK: - remove

    /// Removes a container; a running one only with `force` (killed first). Cleans the runtime
    /// state, cgroup, rootfs mount and directory even when the monitor was killed.
    /// A directory without a usable record (`ContainerStore.unlisted`) is found by full ID or
    /// unique ID prefix and removed too (a damaged running one only with `force`).
    public func remove(_ reference: String, force: Bool, volumes: Bool = false) throws {
        let record: EngineContainer
        do {
            record = try store.resolve(reference)
        } catch EngineError.noSuchContainer {
            try removeUnlisted(reference, force: force, volumes: volumes)
            return
        }
        if record.vm != nil { endFilesOnlyBoot(id: record.id) }
        let live = liveStatus(record)
        if isRestarting(record) {
            guard force else {
                throw EngineError.wrongState(container: record.name, status: "restarting", action: "remove a restarting")
            }
            try stop(record.id, timeout: 0)
        }
        if live.isRunning {
            guard force else {
                throw EngineError.wrongState(container: record.name, status: "running", action: "remove a running")
            }
            _ = try? store.update(id: record.id) { $0.stopRequested = true }
            try? deliver(SIGKILL, all: true, to: record)
            thawAfterSignal(record)
            if !live.monitorLost { _ = try? wait(record.id, timeout: 10) }
            waitForMonitorAfterStop(record, timeout: 0)
        }
        try removeFiles(id: record.id, volumes: volumes)
    }

    /// The cleanup shared by `rm` and the monitor of an --rm container. Idempotent.
    /// `network: false` when the network's teardown is already under way elsewhere (the monitor of
    /// an --rm container runs it detached).
    public func removeFiles(id: String, volumes: Bool = false, network: Bool = true) throws {
        let record = try? store.load(id: id)
        defer {
            // `rm -v` and `--rm` take the container's anonymous volumes with it.
            if let record, volumes || record.autoRemove, !FileIO.exists(store.recordPath(for: id)) { removeAnonymousVolumes(of: record) }
        }
        // The network teardown runs while the runtime state, cgroup and rootfs mount go; the
        // container directory, which holds the network state, is removed only after it.
        let engine = self
        let teardown = network ? BackgroundThread<Void> { try engine.disconnectNetwork(id: id) } : nil
        var runtimeError: (any Error)?
        do {
            try runtime.delete(id: id, force: true)
        } catch RuntimeError.containerNotFound {
        } catch {
            runtimeError = error
        }
        images.unmountRootfs(containerID: id)
        removeEmptyCgroupParent()
        try teardown?.value()
        if let runtimeError { throw runtimeError }
        try store.locked {
            try images.release(containerID: id)
        }
        if let record, !FileIO.exists(store.recordPath(for: id)) { recordEvent(record, "destroy") }
    }

    // MARK: - exec

    /// Runs a program inside a running container with our stdio; returns its exit code.
    /// With `tty` the program gets a pty that we relay (raw mode, window size); without
    /// `interactive` its stdin is /dev/null.
    /// - Parameters:
    ///   - detach: start the program and return at once (stdio /dev/null, exit code not waited for).
    ///   - detachKeys: with `tty`, the keys that leave the program running and return 0.
    public func exec(
        _ reference: String, args: [String], env: [String], user: String?, workdir: String?,
        tty: Bool = false, interactive: Bool = true, detach: Bool = false,
        detachKeys: DetachKeys = .standard, privileged: Bool = false, killAfter: Double? = nil
    ) throws -> Int32 {
        let record = try store.resolve(reference)
        guard liveStatus(record).isRunning else {
            throw EngineError.wrongState(container: record.name, status: "not running", action: "exec in")
        }
        if record.paused == true {
            throw EngineError.wrongState(container: record.name, status: "paused (unpause it first)", action: "exec in")
        }
        guard !args.isEmpty else { throw EngineError.invalidOption("exec needs a command") }
        var numericUser: String?
        var gids: [UInt32] = []
        if let user {
            let rootfs = store.directory(for: record.id) + "/merged"
            let resolved = try UserResolution.resolve(
                user, passwd: try RootfsFiles.read(rootfs: rootfs, path: "/etc/passwd"),
                group: try RootfsFiles.read(rootfs: rootfs, path: "/etc/group"))
            numericUser = "\(resolved.uid):\(resolved.gid)"
            gids = resolved.additionalGids
        }
        if let workdir, !workdir.hasPrefix("/") {
            throw EngineError.invalidOption("the working directory '\(workdir)' is invalid: it must be an absolute path")
        }
        if record.vm != nil {
            let parsed = try numericUser.map { text -> (uid: UInt32, gid: UInt32, gids: [UInt32]) in
                let parts = text.split(separator: ":").compactMap { UInt32($0) }
                guard parts.count == 2 else { throw EngineError.invalidOption("--user '\(text)'") }
                return (parts[0], parts[1], gids)
            }
            return try execInMicroVM(
                record, args: args, env: env, user: parsed, workdir: workdir, tty: tty, interactive: interactive,
                detach: detach, detachKeys: detachKeys)
        }
        do {
            var process = try runtime.execProcess(
                id: record.id, args: args, tty: tty, cwd: workdir, env: env, user: numericUser,
                additionalGids: gids, capabilities: privileged ? CapabilityNames.all : [], noNewPrivileges: false)
            if detach {
                process.terminal = false
                _ = try withStdio(toNull: true) { try runtime.exec(id: record.id, process: process, options: Runtime.ExecOptions()) }
                return 0
            }
            if tty {
                return try execWithTerminal(id: record.id, process: &process, interactive: interactive, detachKeys: detachKeys)
            }
            // Caught before the process starts: its output may reach the user, and a Ctrl-C, before the wait.
            let signals = ForegroundWait.watchSignals()
            defer { signals?.close() }
            let pid = try withStdin(interactive: interactive) {
                try runtime.exec(id: record.id, process: process, options: Runtime.ExecOptions())
            }
            FaultInjection.point("exec.started")
            guard
                let code = ForegroundWait.wait(
                    pid: pid, deadline: killAfter.map { MonotonicClock.seconds() + $0 }, signals: signals,
                    onSignal: { signal in _ = Glibc.kill(pid, signal) })
            else {
                // The health check's timeout (`--kill-after`): the program was killed.
                _ = (ExecTimeout.marker + "\n").withCString { write(2, $0, strlen($0)) }
                return 124
            }
            return code
        } catch {
            throw Self.mapStartError(error)
        }
    }

    /// docker's classification of a failed start: not found (127), cannot invoke (126), other (125),
    /// from the reason the runtime's init gave (`RuntimeError.execFailure`), never from its text.
    static func mapStartError(_ error: any Error) -> EngineError {
        if let engineError = error as? EngineError { return engineError }
        let message = "\(error)"
        switch (error as? RuntimeError)?.execFailure {
        case .executableNotFound: return .commandNotFound(message)
        case .notExecutable: return .cannotInvoke(message)
        case nil: return .startFailed(message)
        }
    }

    /// The cgroup every container's lives under (`/skiff/<id>`, SpecBuilder): removed from each
    /// hierarchy once the last container's is gone, so the host keeps no trace of skiff between
    /// containers. A non-empty parent refuses the rmdir (EBUSY), which is the common case; a
    /// create racing the removal makes the parent again (the runtime retries its mkdir).
    public func removeEmptyCgroupParent() {
        guard let parent = try? Cgroup.resolve(layout: CgroupLayout.detect(), cgroupsPath: SpecBuilder.cgroupParent) else { return }
        for path in parent.allPaths { rmdir(path) }
    }
}

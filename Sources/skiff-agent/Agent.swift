#if canImport(Glibc)
import Glibc
#endif
import AgentProtocol
import CShim
import ContainerRuntime
import LinuxSupport
import OCISpec

/// The agent's life: set the guest up, greet the host, then serve its requests until it asks for
/// a power-off or the stream ends. One thread; a poll loop over the host stream, every process's
/// output and input, and SIGCHLD.
final class Agent {
    static let containerID = "container"

    let transport: Int32
    var decoder = FrameDecoder()
    let runtime = Runtime(root: GuestSystem.runtimeRoot)
    var processes: [UInt32: GuestProcess] = [:]
    /// `skiff cp` in progress, by handle.
    var copies: [UInt32: GuestCopy] = [:]
    var initHandle: UInt32?
    /// A files-only boot mounted the container's root (`mountRootfs`): copies work in it.
    var filesOnly = false
    /// SIGCHLD, as events in the poll loop.
    let children: SignalWatcher
    /// The agent's own stdio (the console), put back after each create or exec borrowed it.
    let console: [Int32]

    init(transport: Int32) throws {
        self.transport = transport
        children = try SignalWatcher([SIGCHLD])
        console = (0...2).map { dup($0) }
    }

    static func main() -> Never {
        do {
            try GuestSystem.leaveInitramfs()
            try GuestSystem.mountBasics()
            // `SKIFF_PROBE=1` on the kernel command line (the kernel hands an undotted KEY=VALUE
            // to init as its environment): boot, set up, say so on the console, end; bench/vm-run's
            // floors (to this line, and to the VM's end).
            if getenv("SKIFF_PROBE") != nil {
                FileHandleOutput.log("probe ready")
                GuestSystem.powerOff()
            }
            let transport = try AgentTransport.open()
            let agent = try Agent(transport: transport)
            try agent.send(AgentHandshake.frame(AgentHello(role: "agent", software: "skiff-agent", kernel: kernelRelease())))
            try agent.serve()
        } catch {
            FileHandleOutput.log("\(error)")
        }
        GuestSystem.powerOff()
    }

    static func kernelRelease() -> String {
        ((try? FileIO.readString("/proc/sys/kernel/osrelease")) ?? "").trimmed
    }

    func send(_ frame: Frame) throws {
        try FileIO.writeAll(fd: transport, try AgentWire.encode(frame), what: "the host stream")
    }

    // MARK: - the loop

    func serve() throws {
        var helloSeen = false
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            var fds = [
                pollfd(fd: transport, events: Int16(POLLIN), revents: 0),
                pollfd(fd: children.descriptor, events: Int16(POLLIN), revents: 0),
            ]
            var owners: [(UInt32, Int32)] = []
            for (handle, process) in processes {
                for fd in process.pollDescriptors() {
                    fds.append(fd)
                    owners.append((handle, fd.fd))
                }
            }
            let copyStart = fds.count
            var copyOwners: [(UInt32, Int32)] = []
            for (handle, copy) in copies {
                for fd in copy.pollDescriptors() {
                    fds.append(fd)
                    copyOwners.append((handle, fd.fd))
                }
            }
            // A process that exited with its output still open is reported after a grace period.
            let timeout: Int32 = processes.values.contains { $0.isLingering } ? 100 : -1
            let ready = poll(&fds, nfds_t(fds.count), timeout)
            if ready < 0 && errno == EINTR { continue }
            if fds[1].revents != 0 { reap() }
            for (index, owner) in owners.enumerated() where fds[2 + index].revents != 0 {
                guard let process = processes[owner.0] else { continue }
                for frame in process.service(fd: owner.1, revents: fds[2 + index].revents) { try send(frame) }
            }
            for (index, owner) in copyOwners.enumerated() where fds[copyStart + index].revents != 0 {
                guard let copy = copies[owner.0] else { continue }
                let (frames, finished) = try copy.service(fd: owner.1)
                for frame in frames { try send(frame) }
                if finished { copies[owner.0] = nil }
            }
            try finishExitedProcesses()
            if fds[0].revents != 0 {
                let n = read(transport, &buffer, buffer.count)
                if n < 0 && (errno == EINTR || errno == EAGAIN) { continue }
                guard n > 0 else {
                    // The host went away: nothing can reach the container any more.
                    FileHandleOutput.log("the host closed the agent stream; powering off")
                    return
                }
                for frame in try decoder.feed(buffer[0..<n]) {
                    if !helloSeen {
                        _ = try AgentHandshake.parse(frame)
                        helloSeen = true
                        continue
                    }
                    if try handle(frame) == false { return }
                }
            }
        }
    }

    /// One frame from the host; false when it asked for a power-off.
    func handle(_ frame: Frame) throws -> Bool {
        switch frame.kind {
        case .request:
            let request = try AgentMessages.decode(AgentRequest.self, from: frame, kind: .request)
            if case .shutdown = request {
                try? runtime.delete(id: Self.containerID, force: true)
                try send(AgentMessages.response(.done, id: frame.channel))
                return false
            }
            do {
                // A copy answers when its thread is done (`GuestCopy.service`).
                if let copy = try startCopy(request, id: frame.channel) {
                    copies[copy.handle] = copy
                    return true
                }
                try send(AgentMessages.response(try perform(request), id: frame.channel))
            } catch let failure as AgentFailure {
                try send(AgentMessages.failure(failure, id: frame.channel))
            } catch {
                try send(AgentMessages.failure(Self.failure(for: error), id: frame.channel))
            }
        case .data, .close:
            let (stream, bytes) = try AgentMessages.stream(of: frame)
            if stream == .archive, let copy = copies[frame.channel] {
                if frame.kind == .data { copy.input(bytes) } else { copy.endInput() }
                return true
            }
            guard stream == .stdin, let process = processes[frame.channel] else { return true }
            if frame.kind == .data { process.input(bytes) } else { process.closeInput() }
        default:
            throw AgentProtocolError.unexpectedFrame(expected: "request, data or close", got: frame.kind)
        }
        return true
    }

    /// docker's exit codes come from the kind: a command not found is 127, not executable 126.
    static func failure(for error: any Error) -> AgentFailure {
        switch (error as? RuntimeError)?.execFailure {
        case .executableNotFound: return AgentFailure(kind: .executableNotFound, message: "\(error)")
        case .notExecutable: return AgentFailure(kind: .notExecutable, message: "\(error)")
        case nil: return AgentFailure(kind: .failed, message: "\(error)")
        }
    }

    // MARK: - requests

    func perform(_ request: AgentRequest) throws -> AgentResponse {
        switch request {
        case .create(let setup):
            guard initHandle == nil, !filesOnly else { throw AgentFailure(kind: .invalidState, message: "the container exists already") }
            try GuestSystem.configureNetwork(setup.network)
            try GuestSystem.assembleRootfs(setup.rootfs)
            try GuestSystem.mountShares(setup.shares)
            var spec = setup.spec
            spec.root = Root(path: GuestSystem.rootfsPath, readonly: spec.root?.readonly)
            try FileIO.write(GuestSystem.bundlePath + "/config.json", try RuntimeJSON.encode(spec))
            let process = try GuestProcess.make(terminal: setup.terminal, stdin: setup.stdin, console: console) { consoleFD in
                var options = Runtime.CreateOptions()
                options.consoleSocketFD = consoleFD
                return try runtime.create(id: Self.containerID, bundle: GuestSystem.bundlePath, options: options).pid
            }
            process.bind(handle: setup.handle)
            processes[setup.handle] = process
            initHandle = setup.handle
            return .process(pid: process.pid)
        case .start:
            guard initHandle != nil else { throw AgentFailure(kind: .invalidState, message: "start before create") }
            try runtime.start(id: Self.containerID)
            return .done
        case .exec(let handle, let process, let stdin):
            guard initHandle != nil else { throw AgentFailure(kind: .invalidState, message: "exec before create") }
            guard processes[handle] == nil else { throw AgentFailure(kind: .invalidState, message: "handle \(handle) is in use") }
            let made = try GuestProcess.make(terminal: process.terminal ?? false, stdin: stdin, console: console) { consoleFD in
                var options = Runtime.ExecOptions()
                options.consoleSocketFD = consoleFD
                return try runtime.exec(id: Self.containerID, process: process, options: options)
            }
            made.bind(handle: handle)
            processes[handle] = made
            return .process(pid: made.pid)
        case .signal(let handle, let signal, let all):
            if handle == initHandle {
                try runtime.kill(id: Self.containerID, signal: signal, all: all)
            } else if let process = processes[handle] {
                try sysCall("kill \(process.pid)") { kill(process.pid, signal) }
            } else {
                throw AgentFailure(kind: .notFound, message: "no process has handle \(handle)")
            }
            return .done
        case .resize(let handle, let rows, let columns):
            guard let process = processes[handle] else { throw AgentFailure(kind: .notFound, message: "no process has handle \(handle)") }
            process.resize(rows: rows, columns: columns)
            return .done
        case .stats:
            return .stats(try stats())
        case .top:
            return try top()
        case .updateHosts(let hosts):
            try FileIO.write(GuestSystem.hostsPath, Array(hosts.utf8))
            return .done
        case .copyIn, .copyOut, .export:
            return .done  // started by `startCopy`
        case .shutdown:
            return .done
        case .mountRootfs(let rootfs):
            guard initHandle == nil, !filesOnly else {
                throw AgentFailure(kind: .invalidState, message: "the container's root filesystem is mounted already")
            }
            try GuestSystem.assembleRootfs(rootfs)
            filesOnly = true
            return .done
        case .stat(let path):
            return .pathStat(try GuestCopy.pathStat(root: try containerRoot(), path: path))
        }
    }

    /// The container's root as the copies see it: its init's (its mounts and volumes included),
    /// or the mounted root filesystem of a files-only boot.
    func containerRoot() throws -> String {
        if let initHandle, let process = processes[initHandle] { return "/proc/\(process.pid)/root" }
        if filesOnly { return GuestSystem.rootfsPath }
        throw AgentFailure(kind: .invalidState, message: "the container is not running")
    }

    /// A copy request starts a `GuestCopy` in the container's root (`containerRoot`); nil for
    /// other requests.
    func startCopy(_ request: AgentRequest, id: UInt32) throws -> GuestCopy? {
        let handle: UInt32
        switch request {
        case .copyIn(let h, _), .copyOut(let h, _, _), .export(let h, _): handle = h
        default: return nil
        }
        let root = try containerRoot()
        guard processes[handle] == nil, copies[handle] == nil else {
            throw AgentFailure(kind: .invalidState, message: "handle \(handle) is in use")
        }
        if case .export(_, let files) = request {
            // The overlay's own mounts in the agent's namespace: the container's mounts (proc,
            // volumes) are in its own and are not seen here, as docker's export leaves them out.
            let directory = files == .rootfs ? GuestSystem.rootfsPath : GuestSystem.upperPath
            return try GuestCopy.export(requestID: id, handle: handle, directory: directory, asLayer: files == .changes)
        }
        if case .copyIn(_, let path) = request {
            return try GuestCopy.copyIn(requestID: id, handle: handle, root: root, path: path)
        }
        if case .copyOut(_, let path, let followLink) = request {
            return try GuestCopy.copyOut(requestID: id, handle: handle, root: root, path: path, followLink: followLink ?? false)
        }
        return nil
    }

    func cgroupDirectory() throws -> String {
        guard let directory = try runtime.store.load(id: Self.containerID).cgroup?.unifiedPath else {
            throw AgentFailure(kind: .invalidState, message: "the container has no cgroup")
        }
        return directory
    }

    func stats() throws -> GuestStats {
        let directory = try cgroupDirectory()
        func number(_ file: String) -> UInt64? { UInt64(((try? FileIO.readString(directory + "/" + file)) ?? "").trimmed) }
        var usage: UInt64 = 0
        for line in ((try? FileIO.readString(directory + "/cpu.stat")) ?? "").split(separator: "\n") where line.hasPrefix("usage_usec ") {
            usage = (UInt64(line.dropFirst("usage_usec ".count)) ?? 0) * 1000
        }
        // docker's usage leaves out the reclaimable page cache; without a limit of its own the
        // container has the guest's memory.
        var inactive: UInt64 = 0
        for line in ((try? FileIO.readString(directory + "/memory.stat")) ?? "").split(separator: "\n")
        where line.hasPrefix("inactive_file ") {
            inactive = UInt64(line.dropFirst("inactive_file ".count)) ?? 0
        }
        let current = number("memory.current") ?? 0
        var total: UInt64?
        for line in ((try? FileIO.readString("/proc/meminfo")) ?? "").split(separator: "\n") where line.hasPrefix("MemTotal:") {
            total = line.split(separator: " ").dropFirst().first.flatMap { UInt64($0) }.map { $0 * 1024 }
        }
        return GuestStats(
            cpuNanoseconds: usage, memoryBytes: current > inactive ? current - inactive : current,
            memoryLimitBytes: number("memory.max") ?? total, pids: number("pids.current") ?? 0)
    }

    /// The container's processes: user id, pid, parent pid and command line, as `ps -o
    /// uid,pid,ppid,args` would print them (the guest has no ps; the ps arguments are not used).
    func top() throws -> AgentResponse {
        let directory = try cgroupDirectory()
        let pids = ((try? FileIO.readString(directory + "/cgroup.procs")) ?? "").split(separator: "\n").compactMap { Int32($0) }
        let rows: [[String]] = pids.sorted().map { pid in
            let raw = (try? FileIO.read("/proc/\(pid)/cmdline")) ?? []
            var args = raw.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ")
            var uid = "?", ppid = "?"
            for line in ((try? FileIO.readString("/proc/\(pid)/status")) ?? "").split(separator: "\n") {
                let fields = line.split(whereSeparator: { $0 == "\t" || $0 == " " })
                if fields.first == "Uid:", fields.count > 1 { uid = String(fields[1]) }
                if fields.first == "PPid:", fields.count > 1 { ppid = String(fields[1]) }
                if fields.first == "Name:", fields.count > 1, args.isEmpty { args = "[" + fields[1] + "]" }
            }
            return [uid, "\(pid)", ppid, args]
        }
        return .table(titles: ["UID", "PID", "PPID", "CMD"], rows: rows)
    }

    // MARK: - exits

    /// Reaps every exited child; a process of ours keeps its status until its output is drained.
    func reap() {
        _ = children.pending()
        while true {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, WNOHANG)
            if pid <= 0 { return }
            for process in processes.values where process.pid == pid { process.exited(status: status) }
        }
    }

    func finishExitedProcesses() throws {
        for (handle, process) in processes where process.isFinished {
            for frame in process.drainAndClose(handle: handle) { try send(frame) }
            let (code, signal) = process.exitReport
            try send(AgentMessages.event(.exited(handle: handle, status: code, signal: signal)))
            processes[handle] = nil
            if handle == initHandle {
                // The container is over: its runtime state and cgroup go; the scratch disk keeps
                // its changes for a later start.
                try? runtime.delete(id: Self.containerID, force: true)
            }
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
import CShim
import Engine
import LinuxSupport
import NIOHTTP1
import Synchronization

/// The body of `POST /containers/{id}/exec`.
struct ExecCreateBody: Decodable {
    var AttachStdin: Bool?
    var AttachStdout: Bool?
    var AttachStderr: Bool?
    var Tty: Bool?
    var Cmd: [String]?
    var Env: [String]?
    var User: String?
    var WorkingDir: String?
    var DetachKeys: String?
    var ConsoleSize: [Int]?
}

/// The body of `POST /exec/{id}/start`.
struct ExecStartBody: Decodable {
    var Detach: Bool?
    var Tty: Bool?
    var ConsoleSize: [Int]?
}

/// An exec instance: made by create, run once by start, inspected for its exit code.
final class ExecInstance: Sendable {
    struct State: Sendable {
        var started = false
        var running = false
        var exitCode: Int32?
        var pid: Int32 = 0
        /// The pty's master while a -t exec runs (resize).
        var master: Int32 = -1
    }
    let id: String
    let containerID: String
    let config: ExecCreateBody.Snapshot
    let state = Mutex(State())

    init(id: String, containerID: String, config: ExecCreateBody.Snapshot) {
        self.id = id
        self.containerID = containerID
        self.config = config
    }
}

extension ExecCreateBody {
    /// What an exec instance keeps of its create body.
    struct Snapshot: Sendable {
        var stdin: Bool
        var stdout: Bool
        var stderr: Bool
        var tty: Bool
        var cmd: [String]
        var env: [String]
        var user: String?
        var workdir: String?
        var detachKeys: String?
        var consoleSize: (rows: UInt16, columns: UInt16)?
    }
}

/// Every exec instance of this service by ID.
final class ExecInstances: Sendable {
    private let instances = Mutex<[String: ExecInstance]>([:])

    func add(_ instance: ExecInstance) { instances.withLock { $0[instance.id] = instance } }

    func get(_ id: String) throws(APIError) -> ExecInstance {
        guard let instance = instances.withLock({ $0[id] }) else { throw .notFound("No such exec instance: \(id)") }
        return instance
    }
}

func consoleSize(_ values: [Int]?) -> (rows: UInt16, columns: UInt16)? {
    guard let values, values.count == 2, let rows = UInt16(exactly: values[0]), let columns = UInt16(exactly: values[1]),
        rows > 0, columns > 0
    else { return nil }
    return (rows, columns)
}

extension DockerService {
    struct ExecCreated: Encodable { var Id: String }

    func createExec(_ call: Call, _ reference: String) throws {
        let record = try container(reference)
        let body = try APIJSON.decode(ExecCreateBody.self, from: call.request.body)
        guard let cmd = body.Cmd, !cmd.isEmpty else { throw APIError.badRequest("no exec command specified: Cmd is empty") }
        guard engine.liveStatus(record).isRunning else {
            throw APIError.conflict("container \(record.id) is not running")
        }
        let id = try ContainerStore.newID()
        let snapshot = ExecCreateBody.Snapshot(
            stdin: body.AttachStdin ?? false, stdout: body.AttachStdout ?? false,
            stderr: body.AttachStderr ?? false, tty: body.Tty ?? false, cmd: cmd, env: body.Env ?? [],
            user: body.User.flatMap { $0.isEmpty ? nil : $0 },
            workdir: body.WorkingDir.flatMap { $0.isEmpty ? nil : $0 },
            detachKeys: body.DetachKeys.flatMap { $0.isEmpty ? nil : $0 },
            consoleSize: consoleSize(body.ConsoleSize))
        execInstances.add(ExecInstance(id: id, containerID: record.id, config: snapshot))
        call.responder.sendJSON(ExecCreated(Id: id), status: .created)
    }

    struct ExecInspectResponse: Encodable {
        struct ProcessConfig: Encodable {
            var tty: Bool
            var entrypoint: String
            var arguments: [String]
            var privileged: Bool
            var user: String
        }
        var ID: String
        var Running: Bool
        var ExitCode: Int32?
        var ProcessConfig: ProcessConfig
        var OpenStdin: Bool
        var OpenStderr: Bool
        var OpenStdout: Bool
        var CanRemove: Bool
        var ContainerID: String
        var DetachKeys: String
        var Pid: Int32
    }

    func inspectExec(_ call: Call, _ id: String) throws {
        let instance = try execInstances.get(id)
        let state = instance.state.withLock { $0 }
        let config = instance.config
        call.responder.sendJSON(
            ExecInspectResponse(
                ID: instance.id, Running: state.running, ExitCode: state.exitCode,
                ProcessConfig: .init(
                    tty: config.tty, entrypoint: config.cmd[0], arguments: Array(config.cmd.dropFirst()), privileged: false,
                    user: config.user ?? ""),
                OpenStdin: config.stdin, OpenStderr: config.stderr, OpenStdout: config.stdout, CanRemove: false,
                ContainerID: instance.containerID, DetachKeys: config.detachKeys ?? "", Pid: state.pid))
    }

    func resizeExec(_ call: Call, _ id: String) throws {
        let instance = try execInstances.get(id)
        guard let rows = try call.query.int("h"), let columns = try call.query.int("w"),
            let size = consoleSize([rows, columns])
        else {
            throw APIError.badRequest("resize needs h and w: the terminal's rows and columns")
        }
        let master = instance.state.withLock { $0.master }
        guard master >= 0 else { throw APIError.conflict("exec \(id) has no terminal running") }
        var window = winsize(ws_row: size.rows, ws_col: size.columns, ws_xpixel: 0, ws_ypixel: 0)
        _ = ioctl(master, UInt(TIOCSWINSZ), &window)
        call.responder.send(status: .ok, body: [])
    }

    /// `POST /exec/{id}/start`: runs `skiff exec` (the CLI's own path through `Engine.exec`) on
    /// pipes, or on a pty for -t, and relays them over the hijacked connection; detached, it
    /// starts the program and answers at once.
    func startExec(_ call: Call, _ id: String) throws {
        let instance = try execInstances.get(id)
        let body = try APIJSON.decode(ExecStartBody.self, from: call.request.body)
        let alreadyStarted = instance.state.withLock { state -> Bool in
            defer { state.started = true }
            return state.started
        }
        guard !alreadyStarted else { throw APIError.conflict("exec \(id) has already been started") }
        let record = try engine.store.load(id: instance.containerID)
        guard engine.liveStatus(record).isRunning else { throw APIError.conflict("container \(record.id) is not running") }
        let config = instance.config
        let detach = body.Detach ?? false
        var arguments = [engine.executable, "exec", "--root", engine.store.root, "--runtime-root", engine.runtimeRoot]
        if detach { arguments.append("-d") }
        if config.stdin && !detach { arguments.append("-i") }
        if config.tty && !detach { arguments.append("-t") }
        if let user = config.user { arguments += ["-u", user] }
        if let workdir = config.workdir { arguments += ["-w", workdir] }
        if let keys = config.detachKeys { arguments += ["--detach-keys", keys] }
        for variable in config.env { arguments += ["-e", variable] }
        arguments += [record.id] + config.cmd
        let size = consoleSize(body.ConsoleSize) ?? config.consoleSize

        if detach {
            let child = try ExecChild.spawn(arguments, tty: false, stdin: false, size: nil)
            let result = child.waitForExit()
            instance.state.withLock { $0.pid = child.pid }
            guard result == 0 else {
                throw APIError.internalError(
                    "exec \(id) failed to start (exit \(result)): " + String(decoding: child.drainStderr(), as: UTF8.self))
            }
            call.responder.send(status: .ok, body: [])
            return
        }
        let child = try ExecChild.spawn(arguments, tty: config.tty, stdin: config.stdin, size: size)
        instance.state.withLock {
            $0.running = true
            $0.pid = child.pid
            $0.master = child.master
        }
        let connection = call.responder.hijack(request: call.request, contentType: config.tty ? StreamFrame.raw : StreamFrame.multiplexed)
        child.relay(connection: connection, tty: config.tty, stdout: config.stdout, stderr: config.stderr)
        let code = child.waitForExit()
        instance.state.withLock {
            $0.running = false
            $0.exitCode = code
            $0.master = -1
        }
        child.closeAll()
        connection.close()
    }
}

/// A `skiff exec` child of the service with its stdio on pipes (or a pty), relayed by the caller.
final class ExecChild {
    let pid: Int32
    /// -t: the pty's master (the child's stdin, stdout and stderr are its slave).
    private(set) var master: Int32
    private var stdinWrite: Int32
    private var stdoutRead: Int32
    private var stderrRead: Int32

    private init(pid: Int32, master: Int32, stdinWrite: Int32, stdoutRead: Int32, stderrRead: Int32) {
        self.pid = pid
        self.master = master
        self.stdinWrite = stdinWrite
        self.stdoutRead = stdoutRead
        self.stderrRead = stderrRead
    }

    static func spawn(_ arguments: [String], tty: Bool, stdin: Bool, size: (rows: UInt16, columns: UInt16)?) throws -> ExecChild {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var closeAfter: [Int32] = []
        defer { for fd in closeAfter { close(fd) } }
        var master: Int32 = -1, stdinWrite: Int32 = -1, stdoutRead: Int32 = -1, stderrRead: Int32 = -1
        if tty {
            master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC)
            guard master >= 0, skiff_unlockpt(master) == 0 else { throw SystemError("open a pty for exec (/dev/ptmx)") }
            // The slave's path, from a descriptor of it: the child opens it by path after setsid.
            let peer = skiff_open_pty_peer(master)
            guard peer >= 0 else { throw SystemError("open the pty's slave for exec") }
            var target = [CChar](repeating: 0, count: 128)
            let length = readlink("/proc/self/fd/\(peer)", &target, target.count - 1)
            close(peer)
            guard length > 0 else { throw SystemError("readlink the pty's slave") }
            let name = String(decoding: target[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if let size {
                var window = winsize(ws_row: size.rows, ws_col: size.columns, ws_xpixel: 0, ws_ypixel: 0)
                _ = ioctl(master, UInt(TIOCSWINSZ), &window)
            }
            // A new session whose first terminal is the slave: it becomes the controlling terminal,
            // so a resize of the master reaches `skiff exec` as SIGWINCH.
            posix_spawn_file_actions_addopen(&actions, 0, name, O_RDWR, 0)
            posix_spawn_file_actions_adddup2(&actions, 0, 1)
            posix_spawn_file_actions_adddup2(&actions, 0, 2)
        } else {
            let (outRead, outWrite) = try Descriptors.pipe()
            let (errRead, errWrite) = try Descriptors.pipe()
            stdoutRead = outRead
            stderrRead = errRead
            closeAfter += [outWrite, errWrite]
            if stdin {
                let (inRead, inWrite) = try Descriptors.pipe()
                stdinWrite = inWrite
                closeAfter.append(inRead)
                posix_spawn_file_actions_adddup2(&actions, inRead, 0)
            } else {
                posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            }
            posix_spawn_file_actions_adddup2(&actions, outWrite, 1)
            posix_spawn_file_actions_adddup2(&actions, errWrite, 2)
        }
        let attributes = CleanSpawnAttributes(newSession: true)
        let argv = CStringArray(arguments)
        let envp = CStringArray(["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"])
        var pid: pid_t = 0
        let rc = withExtendedLifetime((argv, envp)) {
            posix_spawn(&pid, arguments[0], &actions, &attributes.attributes, argv.pointers, envp.pointers)
        }
        guard rc == 0 else {
            for fd in [master, stdinWrite, stdoutRead, stderrRead] where fd >= 0 { close(fd) }
            throw SystemError("run \(arguments[0]) exec", errno: rc)
        }
        return ExecChild(pid: pid, master: master, stdinWrite: stdinWrite, stdoutRead: stdoutRead, stderrRead: stderrRead)
    }

    /// Copies the child's output to the client (docker's frames without a TTY) and the client's
    /// bytes to its stdin, until its output ends.
    func relay(connection: RawConnection, tty: Bool, stdout: Bool, stderr: Bool) {
        var buffer = [UInt8](repeating: 0, count: 32768)
        var outputs: [(fd: Int32, stream: UInt8)] =
            tty ? [(fd: master, stream: UInt8(1))] : [(fd: stdoutRead, stream: UInt8(1)), (fd: stderrRead, stream: UInt8(2))]
        let input = tty ? master : stdinWrite
        var inputOpen = input >= 0
        while !outputs.isEmpty {
            var fds = outputs.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            let ready = poll(&fds, nfds_t(fds.count), 20)
            if ready < 0 && errno != EINTR { return }
            var ended: [Int32] = []
            for (index, pfd) in fds.enumerated() where pfd.revents != 0 {
                let n = read(pfd.fd, &buffer, buffer.count)
                if n < 0 && errno == EINTR { continue }
                // A pty's master reads EIO once the last slave is closed: the same end.
                if n <= 0 {
                    ended.append(pfd.fd)
                    continue
                }
                let bytes = Array(buffer[0..<n])
                let stream = outputs[index].stream
                if stream == 1 ? !stdout : !stderr { continue }
                connection.write(tty ? bytes : StreamFrame.encode(stream: stream, bytes))
            }
            outputs.removeAll { ended.contains($0.fd) }
            if inputOpen {
                guard let bytes = connection.read(timeoutMS: 0) else {
                    inputOpen = false
                    if !tty {
                        close(stdinWrite)
                        stdinWrite = -1
                    }
                    continue
                }
                if !bytes.isEmpty { _ = try? FileIO.writeAll(fd: input, bytes, what: "exec stdin") }
            }
            if connection.isClosed && !inputOpen {
                // The client is gone: nobody reads the output; the program runs on until it ends.
                if tty { return }
            }
        }
    }

    /// The exit code of `skiff exec` (the program's, or 125-127).
    func waitForExit() -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return 125 }
        }
        if status & 0x7f == 0 { return (status >> 8) & 0xff }
        return 128 + (status & 0x7f)
    }

    func drainStderr() -> [UInt8] {
        guard stderrRead >= 0 else { return [] }
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(stderrRead, &buffer, buffer.count)
            if n <= 0 { break }
            result += buffer[0..<n]
        }
        return result
    }

    func closeAll() {
        for fd in [master, stdinWrite, stdoutRead, stderrRead] where fd >= 0 { close(fd) }
        master = -1
        stdinWrite = -1
        stdoutRead = -1
        stderrRead = -1
    }

    deinit { closeAll() }
}

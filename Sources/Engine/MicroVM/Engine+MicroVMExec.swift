#if canImport(Glibc)
import Glibc
#endif
import ContainerRuntime
import LinuxSupport
import OCISpec

extension Engine {
    /// `exec` in a micro-VM container: the process is the container's own process settings with
    /// the command and overrides (as the runtime's `execProcess` builds them on the host); the
    /// container's monitor runs it in the guest through the agent, over a session on its
    /// `exec.sock` that carries the stdio, the terminal size, signals and the exit code.
    func execInMicroVM(
        _ record: EngineContainer, args: [String], env: [String], user: (uid: UInt32, gid: UInt32, gids: [UInt32])?,
        workdir: String?, tty: Bool, interactive: Bool, detach: Bool, detachKeys: DetachKeys
    ) throws -> Int32 {
        let directory = store.directory(for: record.id)
        let spec = try RuntimeJSON.decode(Spec.self, from: try FileIO.read(directory + "/config.json"))
        var process = spec.process ?? Process()
        process.args = args
        process.terminal = tty && !detach
        process.consoleSize = nil
        if let workdir { process.cwd = workdir }
        process.env = (process.env ?? []) + env
        if let user {
            process.user.uid = user.uid
            process.user.gid = user.gid
            process.user.additionalGids = user.gids.isEmpty ? nil : user.gids
        }
        let request = ExecRequest(process: process, stdin: interactive, detach: detach)
        let socket = try AttachSocket.connect(directory: directory, name: AttachSocket.execName)
        defer { close(socket) }
        try FileIO.writeAll(
            fd: socket, AttachFrame.exec(try RuntimeJSON.encode(SessionRequest.exec(request))).encoded(), what: "the monitor's exec socket")
        let client = AttachClient(
            socket: socket, tty: tty && !detach, forwardStdin: interactive && !detach, closeStdinAtEOF: true,
            detachKeys: detachKeys
        ) { signal in
            _ = try? FileIO.writeAll(fd: socket, AttachFrame.signal(signal, all: false).encoded(), what: "the monitor's exec socket")
        }
        switch try client.run() {
        case .exited(let code): return code
        case .detached: return 0
        case .interrupted(let signal): return 128 + signal
        case .disconnected: throw EngineError.startFailed("the container's monitor closed the exec session without an exit code")
        }
    }
}

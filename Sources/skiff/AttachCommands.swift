#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Engine

/// Starts a created container with its monitor waiting for our attachment, then relays our
/// terminal or stdio to it (`run -it`, `start -a -i`); returns how the attachment ended.
func startAttached(
    engine: Engine, container: EngineContainer, interactive: Bool, detachKeys: DetachKeys,
    proxySignals: Bool = true, streams: AttachedStreams = .all
) throws -> AttachEnd {
    let size = container.hasTTY ? RawTerminal.size() : nil
    let handle = try engine.start(container.id, attach: false, streams: AttachRequest(consoleSize: size))
    return try relay(
        engine: engine, container: container, socket: handle.attachFD, interactive: interactive,
        closeStdinAtEOF: true, detachKeys: detachKeys, proxySignals: proxySignals, streams: streams)
}

/// `run -a/--attach stdin|stdout|stderr` (repeatable, any case): the streams the client is
/// attached to, as docker's run takes them; all three without the flag.
struct AttachedStreams: Equatable {
    var stdin = true
    var stdout = true
    var stderr = true

    static let all = AttachedStreams()

    init() {}

    init(parsing names: [String]) throws {
        guard !names.isEmpty else { return }
        stdin = false
        stdout = false
        stderr = false
        for name in names {
            switch name.lowercased() {
            case "stdin": stdin = true
            case "stdout": stdout = true
            case "stderr": stderr = true
            default:
                throw EngineError.invalidOption(
                    "invalid argument \"\(name)\" for \"-a, --attach\": valid streams are STDIN, STDOUT and STDERR")
            }
        }
    }
}

/// How an attachment ended: the exit code the command ends with (0 after a detach), and whether
/// the user detached (the container runs on: `run -it --rm` must not wait for its removal).
struct AttachEnd {
    var code: Int32
    var detached = false
}

func relay(
    engine: Engine, container: EngineContainer, socket: Int32, interactive: Bool, closeStdinAtEOF: Bool,
    detachKeys: DetachKeys, proxySignals: Bool = true, streams: AttachedStreams = .all
) throws -> AttachEnd {
    var client = AttachClient(
        socket: socket, tty: container.hasTTY, forwardStdin: interactive && streams.stdin, closeStdinAtEOF: closeStdinAtEOF,
        detachKeys: detachKeys, proxySignals: proxySignals
    ) { signal in try? engine.kill(container.id, signal: signal) }
    client.showStdout = streams.stdout
    client.showStderr = streams.stderr
    switch try client.run() {
    case .exited(let code): return AttachEnd(code: code)
    case .detached: return AttachEnd(code: 0, detached: true)
    case .interrupted(let signal): return AttachEnd(code: 128 + signal)
    case .disconnected: return AttachEnd(code: ((try? engine.wait(container.id, timeout: 5)) ?? nil) ?? 125)
    }
}

/// `skiff attach [--no-stdin] [--detach-keys K] CONTAINER`: connect our terminal or stdio to a
/// running container's monitor; ctrl-p ctrl-q leaves it running.
struct AttachCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attach",
        abstract: "Attach our stdin, stdout and stderr to a running container.")

    @OptionGroup var engineOptions: EngineOptions
    @Flag(name: .customLong("no-stdin"), help: "Do not pass our stdin to the container.") var noStdin = false
    @Option(name: .customLong("detach-keys"), help: "Keys that detach from the container's terminal (default ctrl-p,ctrl-q).")
    var detachKeys: String?
    @Option(
        name: .customLong("sig-proxy"),
        help: "Pass the signals we receive to the container (without a terminal); false: they end the attachment.")
    var sigProxy: Bool = true
    @Argument(help: "Container (name, ID or ID prefix).") var container: String

    func run() async throws {
        try await withEngineErrors {
            let engine = try engineOptions.openEngine()
            let keys = try DetachKeys(parsing: detachKeys ?? "")
            let record = try engine.store.resolve(container)
            guard engine.liveStatus(record).isRunning || engine.isRestarting(record) else {
                throw EngineError.wrongState(container: record.name, status: "not running", action: "attach to")
            }
            let socket = try AttachSocket.connect(directory: engine.store.directory(for: record.id))
            defer { close(socket) }
            throw ExitCode(
                try relay(
                    engine: engine, container: record, socket: socket, interactive: !noStdin && record.isInteractive,
                    closeStdinAtEOF: false, detachKeys: keys, proxySignals: sigProxy
                ).code)
        }
    }
}

/// `skiff restart [-t SECS] CONTAINER...`: stop (the stop signal, SIGKILL after the grace
/// period), then start again under a new monitor.
struct RestartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "restart", abstract: "Restart one or more containers.")

    @OptionGroup var engineOptions: EngineOptions
    @Option(name: [.customShort("t"), .customLong("time")], help: "Seconds to wait before killing.") var time: Double = 10
    @Argument(help: "Containers (name, ID or ID prefix).") var containers: [String]

    func run() async throws {
        try await withEngineErrors {
            let engine = try engineOptions.openEngine()
            for container in containers {
                try engine.restart(container, timeout: max(0, time))
                print(container)
            }
        }
    }
}

import ArgumentParser
import Engine
import OCISpec

/// `skiff exec [-d] [-i] [-t] [-e] [-u] [-w] [--detach-keys K] CONTAINER CMD...`: run a program in a
/// running container with our stdio or on a terminal and exit with its exit code; with -d, or
/// after the detach keys on a terminal, leave it running.
struct ExecCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "exec", abstract: "Run a command in a running container.")

    @OptionGroup var engineOptions: EngineOptions
    @Option(name: [.customShort("e"), .customLong("env")], help: "Set an environment variable.") var env: [String] = []
    @Option(name: [.customShort("u"), .customLong("user")], help: "User (name or UID) and optional group.") var user: String?
    @Option(name: [.customShort("w"), .customLong("workdir")], help: "Working directory inside the container.") var workdir: String?
    @Flag(name: [.customShort("i"), .customLong("interactive")], help: "Pass our stdin to the program.") var interactive = false
    @Flag(name: [.customShort("t"), .customLong("tty")], help: "Run the program on a terminal (pty).") var tty = false
    @Flag(name: [.customShort("d"), .customLong("detach")], help: "Start the program in the background and return at once.") var detach =
        false
    @Option(
        name: .customLong("detach-keys"), help: "Keys that detach from the program's terminal, leaving it running (default ctrl-p,ctrl-q).")
    var detachKeys: String?
    @Option(name: .customLong("env-file"), help: "Read environment variables from a file (KEY=VALUE lines).") var envFile: [String] = []
    @Flag(help: "Give the program every capability.") var privileged = false
    @Option(name: .customLong("kill-after"), help: .hidden) var killAfter: Double?
    @Argument(parsing: .captureForPassthrough, help: "CONTAINER COMMAND [ARG...]") var containerAndCommand: [String] = []

    func run() async throws {
        try await withEngineErrors {
            if let first = containerAndCommand.first, first.hasPrefix("-") {
                throw ValidationError("Unknown option '\(first)'")
            }
            guard containerAndCommand.count >= 2 else {
                throw EngineError.invalidOption("exec needs a container and a command: skiff exec CONTAINER COMMAND [ARG...]")
            }
            let engine = try engineOptions.openEngine()
            let keys = try DetachKeys(parsing: detachKeys ?? "")
            let code = try engine.exec(
                containerAndCommand[0], args: Array(containerAndCommand.dropFirst()),
                env: try EnvironmentInput.parse(env: env, files: envFile), user: user, workdir: workdir,
                tty: tty, interactive: interactive, detach: detach, detachKeys: keys, privileged: privileged, killAfter: killAfter)
            throw ExitCode(code)
        }
    }
}

/// The hidden `skiff container-monitor`: the per-container monitor `start` spawns.
struct ContainerMonitorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "container-monitor", abstract: "Internal: hold a container's stdio and record its exit.",
        shouldDisplay: false)

    @OptionGroup var engineOptions: EngineOptions
    @Flag(name: .customLong("wait-attach")) var waitAttach = false
    @Option(name: .customLong("console-size")) var consoleSize: String?
    @Argument var id: String

    func run() throws {
        let engine = try engineOptions.openEngine()
        let size = consoleSize.flatMap { text -> ConsoleSize? in
            let parts = text.split(separator: "x").compactMap { UInt($0) }
            return parts.count == 2 ? ConsoleSize(height: parts[0], width: parts[1]) : nil
        }
        ContainerMonitor.main(engine: engine, id: id, waitForAttach: waitAttach, consoleSize: size)
    }
}

import ArgumentParser
import Engine

/// `skiff start [-a] CONTAINER...`: start created or exited containers under a new monitor.
struct StartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "start", abstract: "Start one or more stopped containers.")

    @OptionGroup var engineOptions: EngineOptions
    @Flag(name: [.customShort("a"), .customLong("attach")], help: "Stream the container's output and exit with its exit code.") var attach =
        false
    @Flag(name: [.customShort("i"), .customLong("interactive")], help: "Attach our stdin to the container's.") var interactive = false
    @Option(name: .customLong("detach-keys"), help: "Keys that detach from the container's terminal (default ctrl-p,ctrl-q).")
    var detachKeys: String?
    @Argument(help: "Containers (name, ID or ID prefix).") var containers: [String]

    func run() async throws {
        try await withEngineErrors {
            let engine = try engineOptions.openEngine()
            if attach {
                guard containers.count == 1 else { throw EngineError.invalidOption("start --attach takes exactly one container") }
                let record = try engine.store.resolve(containers[0])
                if interactive || record.hasTTY {
                    let keys = try DetachKeys(parsing: detachKeys ?? "")
                    throw ExitCode(
                        try startAttached(
                            engine: engine, container: record, interactive: interactive && record.isInteractive,
                            detachKeys: keys
                        ).code)
                }
                let handle = try engine.start(containers[0], attach: true)
                let code = handle.follow()
                throw ExitCode(code ?? 125)
            }
            for container in containers {
                _ = try engine.start(container, attach: false)
                print(container)
            }
        }
    }
}

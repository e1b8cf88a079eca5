import ArgumentParser
import Engine

/// `skiff rm [-f] CONTAINER...`: remove containers (running ones only with -f, killed first).
struct RmCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove containers.")

    @OptionGroup var engineOptions: EngineOptions
    @Flag(name: [.customShort("f"), .customLong("force")], help: "Kill and remove running containers.") var force = false
    @Flag(name: [.customShort("v"), .customLong("volumes")], help: "Remove the container's anonymous volumes too.") var volumes = false
    @Argument(help: "Containers (name, ID or ID prefix).") var containers: [String]

    func run() async throws {
        try await withEngineErrors {
            let engine = try engineOptions.openEngine()
            var failed: EngineError?
            for container in containers {
                do {
                    try engine.remove(container, force: force, volumes: volumes)
                    print(container)
                } catch let error as EngineError {
                    printEngineError(error.description)
                    failed = error
                }
            }
            if failed != nil { throw ExitCode(1) }
        }
    }
}

/// `skiff wait CONTAINER...`: block until each stops and print its exit code.
struct WaitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wait", abstract: "Wait for containers to stop and print their exit codes.")

    @OptionGroup var engineOptions: EngineOptions
    @Argument(help: "Containers (name, ID or ID prefix).") var containers: [String]

    func run() async throws {
        try await withEngineErrors {
            let engine = try engineOptions.openEngine()
            for container in containers {
                let code = try engine.wait(container)
                print(code.map(String.init) ?? "-1")
            }
        }
    }
}

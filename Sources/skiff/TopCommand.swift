import ArgumentParser
import Engine

/// `skiff top CONTAINER [ps OPTIONS]`: the container's processes as the host's ps shows them.
struct TopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "top", abstract: "Show the processes of a running container.")

    @OptionGroup var engineOptions: EngineOptions
    @Argument(help: "Container (name, ID or ID prefix).") var container: String
    @Argument(parsing: .captureForPassthrough, help: "ps options (default -ef).") var psOptions: [String] = []

    func run() async throws {
        try await withEngineErrors {
            for line in try engineOptions.openEngine().top(container, psArguments: psOptions) { print(line) }
        }
    }
}

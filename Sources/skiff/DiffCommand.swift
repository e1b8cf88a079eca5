import ArgumentParser
import Builder

/// `skiff diff CONTAINER`: the files a container added (A), changed (C) and deleted (D).
struct DiffCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff", abstract: "Inspect changes to files or directories on a container's filesystem.")

    @OptionGroup var engineOptions: EngineOptions
    @Argument(help: "The container.") var container: String

    func run() async throws {
        try await withEngineErrors {
            let engine = try engineOptions.openEngine()
            for change in try ContainerDiff.changes(engine: engine, container: container) { print("\(change.kind) \(change.path)") }
        }
    }
}

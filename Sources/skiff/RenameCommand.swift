import ArgumentParser
import Engine

/// `skiff rename CONTAINER NEW_NAME`.
struct RenameCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rename", abstract: "Rename a container.")

    @OptionGroup var engineOptions: EngineOptions
    @Argument(help: "Container (name, ID or ID prefix).") var container: String
    @Argument(help: "The new name.") var newName: String

    func run() async throws {
        try await withEngineErrors {
            try engineOptions.openEngine().rename(container, to: newName)
        }
    }
}

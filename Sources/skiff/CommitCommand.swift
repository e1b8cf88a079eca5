import ArgumentParser
import Builder
import Foundation
import ImageStore
import OCISpec

/// `skiff commit CONTAINER NAME`: a new image from a container's changes.
struct CommitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "commit", abstract: "Create a new image from a container's changes.")

    @OptionGroup var engineOptions: EngineOptions
    @Option(name: [.customShort("a"), .customLong("author")], help: "Author (\"Name <email>\").") var author: String?
    @Option(name: [.customShort("c"), .customLong("change")], help: "Apply a Dockerfile instruction to the config (repeatable).")
    var changes: [String] = []
    @Option(name: [.customShort("m"), .customLong("message")], help: "Commit message.") var message: String?
    @Option(name: [.customShort("p"), .customLong("pause")], help: "Pause the container while committing.") var pause = true
    @Option(name: .customLong("default-registry"), help: "Registry for names without one.")
    var defaultRegistry: String = ProcessInfo.processInfo.environment["SKIFF_DEFAULT_REGISTRY"] ?? ImageReference.dockerHub
    @Argument(help: "The container.") var container: String
    @Argument(help: "REPOSITORY[:TAG] (skiff keeps no unnamed images, so a name is needed).") var name: String

    func run() async throws {
        try await withEngineErrors {
            let engine = try engineOptions.openEngine()
            var options = ContainerCommit.Options()
            options.changes = changes
            options.message = message
            options.author = author
            options.pause = pause
            let reference = try ImageReference(parsing: name, defaultRegistry: defaultRegistry)
            let id = try ContainerCommit.commit(engine: engine, container: container, name: reference, options: options)
            print(id.description)
        }
    }
}

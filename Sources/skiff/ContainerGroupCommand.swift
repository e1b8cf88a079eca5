import ArgumentParser
import Engine

/// `skiff container prune`: the `container` management group (the other container commands are
/// top-level, as `docker run` is).
struct ContainerGroupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "container", abstract: "Manage containers.",
        subcommands: [ContainerPruneCommand.self])
}

/// Removes every container that is not running.
struct ContainerPruneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "prune", abstract: "Remove all stopped containers.")

    @OptionGroup var engineOptions: EngineOptions
    @Flag(name: [.customShort("f"), .customLong("force")], help: "Do not ask for confirmation.") var force = false
    @Option(name: .customLong("filter"), help: "Only containers matching: label=KEY[=VALUE], name=NAME, id=PREFIX.") var filter: [String] =
        []

    func run() async throws {
        try await withEngineErrors {
            let filters = try filter.map(ContainerFilter.init(parsing:))
            guard force || Confirmation.ask("This will remove all stopped containers.") else { return }
            let result = try engineOptions.openEngine().pruneContainers { record in
                filters.allSatisfy { $0.matches(record, state: "exited") }
            }
            if !result.removed.isEmpty { print("Deleted Containers:\n" + result.removed.joined(separator: "\n") + "\n") }
            print("Total reclaimed space: \(ByteFormat.decimal(result.reclaimedBytes))")
        }
    }
}

import ArgumentParser
import Engine

/// `skiff container ...`: docker's management-command spellings of every container command
/// (`container ls`, `container rm`, `container inspect`, ...), the same commands as the top-level
/// ones, plus `container prune`.
struct ContainerGroupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "container", abstract: "Manage containers.",
        subcommands: [
            ContainerListCommand.self, RunCommand.self, CreateCommand.self, StartCommand.self, StopCommand.self, RestartCommand.self,
            KillCommand.self, RmCommand.self, WaitCommand.self, InspectCommand.self, LogsCommand.self, ExecCommand.self,
            AttachCommand.self, TopCommand.self, StatsCommand.self, CpCommand.self, RenameCommand.self, PortCommand.self, PauseCommand.self,
            UnpauseCommand.self, UpdateCommand.self, ContainerPruneCommand.self,
        ])
}

/// `skiff container ls` (or `list`, `ps`): `skiff ps` under docker's group name.
struct ContainerListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List containers.", aliases: ["list", "ps"])
    @OptionGroup var ps: PsCommand
    func run() async throws { try await ps.run() }
}

/// Removes every container that is not running.
struct ContainerPruneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "prune", abstract: "Remove all stopped containers.")

    @OptionGroup var engineOptions: EngineOptions
    @Flag(name: [.customShort("f"), .customLong("force")], help: "Do not ask for confirmation.") var force = false
    @Option(
        name: .customLong("filter"),
        help: "Only containers matching: label=KEY[=VALUE], label!=KEY[=VALUE], until=TIME (made before; a duration such as 24h).")
    var filter: [String] = []

    func run() async throws {
        try await withEngineErrors {
            let filters = try ContainerPruneFilters(options: filter)
            guard force || Confirmation.ask("This will remove all stopped containers.") else { return }
            let result = try engineOptions.openEngine().pruneContainers(matching: filters.matches)
            if !result.removed.isEmpty { print("Deleted Containers:\n" + result.removed.joined(separator: "\n") + "\n") }
            print("Total reclaimed space: \(ByteFormat.decimal(result.reclaimedBytes))")
        }
    }
}

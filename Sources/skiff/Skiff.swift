import ArgumentParser

/// The `skiff` command: the engine's docker-like front end. Each concern registers its
/// subcommands here (images, containers, vm); the commands themselves live in their own files.
struct Skiff: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "skiff",
        abstract: "Run containers and micro-VMs from OCI images.",
        subcommands: Skiff.allSubcommands
    )

    /// Every top-level subcommand, in the order `skiff --help` lists them.
    static var allSubcommands: [any ParsableCommand.Type] {
        containerCommands + imageCommands + vmCommands
    }
}

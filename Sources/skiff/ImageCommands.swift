import ArgumentParser

extension Skiff {
    /// Image commands (pull, push, images, ...), each in its own file.
    static var imageCommands: [any ParsableCommand.Type] {
        [
            PullCommand.self, PushCommand.self, ImagesCommand.self, ImageCommand.self, TagCommand.self, RmiCommand.self,
            LoadCommand.self, SaveCommand.self, LoginCommand.self, LogoutCommand.self, BuildCommand.self, HistoryCommand.self,
            SearchCommand.self,
            BuilderCommand.self, CommitCommand.self, DiffCommand.self, ExportCommand.self, ImportCommand.self,
        ]
    }
}

/// `skiff image ...`: the same commands grouped as docker groups them.
struct ImageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image",
        abstract: "Manage images.",
        subcommands: [
            ImageInspectCommand.self, ImagePruneCommand.self, ImageListCommand.self, ImageRemoveCommand.self,
            PullCommand.self, PushCommand.self, TagCommand.self, LoadCommand.self, SaveCommand.self,
        ]
    )
}

/// `skiff image ls`: `skiff images` under docker's group name (the top-level `ls`/`rm` stay free
/// for containers).
struct ImageListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List images.", aliases: ["list"])
    @OptionGroup var images: ImagesCommand
    func run() async throws { try await images.run() }
}

/// `skiff image rm`: `skiff rmi` under docker's group name.
struct ImageRemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove images.", aliases: ["remove"])
    @OptionGroup var rmi: RmiCommand
    func run() async throws { try await rmi.run() }
}

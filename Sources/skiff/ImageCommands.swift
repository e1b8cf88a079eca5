import ArgumentParser

extension Skiff {
    /// Image commands (pull, push, images, ...), each in its own file.
    static var imageCommands: [any ParsableCommand.Type] {
        [PullCommand.self, PushCommand.self, ImagesCommand.self, ImageCommand.self, TagCommand.self, RmiCommand.self,
         LoadCommand.self, SaveCommand.self, LoginCommand.self, LogoutCommand.self]
    }
}

/// `skiff image ...`: the same commands grouped as docker groups them.
struct ImageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image",
        abstract: "Manage images.",
        subcommands: [ImageInspectCommand.self, ImagePruneCommand.self, ImagesCommand.self, PullCommand.self, PushCommand.self,
                      TagCommand.self, RmiCommand.self, LoadCommand.self, SaveCommand.self]
    )
}

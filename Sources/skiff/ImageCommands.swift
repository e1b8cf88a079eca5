import ArgumentParser

extension Skiff {
    /// Image commands (pull, push, images, ...): filled in by the image store work.
    static var imageCommands: [any ParsableCommand.Type] { [] }
}

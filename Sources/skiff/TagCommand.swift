import ArgumentParser
import Engine
import ImageStore

/// `skiff tag SOURCE TARGET`: gives a stored image another name.
struct TagCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tag", abstract: "Give an image another name.")

    @OptionGroup var store: StoreOptions

    @Argument(help: "Existing image name or ID.")
    var source: String

    @Argument(help: "New name.")
    var target: String

    func run() async throws {
        let target = try store.reference(self.target)
        guard target.digest == nil else { throw ValidationError("a tag cannot contain a digest: '\(self.target)'") }
        let store = try self.store.openStore()
        try store.withSharedLock { try store.tag(source, as: target, defaultRegistry: self.store.defaultRegistry) }
        let id = try? store.withSharedLock { try store.image(target.description, defaultRegistry: self.store.defaultRegistry).id }
        EventJournal(root: store.root).record(.image("tag", id: id?.description ?? target.description, name: target.description))
    }
}

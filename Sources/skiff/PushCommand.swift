import ArgumentParser
import ImageStore
import OCISpec
import Registry

/// `skiff push NAME [TARGET]`: uploads a stored image to a registry.
struct PushCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "push", abstract: "Push an image to a registry.")

    @OptionGroup var store: StoreOptions
    @OptionGroup var registry: RegistryCommandOptions

    @Option(name: .customLong("chunk-size"), help: "Upload blobs in chunks of this many bytes (default: one request per blob).")
    var chunkSize: Int?

    @Flag(name: .shortAndLong, help: "Print only the manifest digest.")
    var quiet = false

    @Argument(help: "Local image name.")
    var name: String

    @Argument(help: "Destination (default: the same name).")
    var destination: String?

    func run() async throws {
        let target = try store.reference(destination ?? name)
        guard target.digest == nil else {
            throw ValidationError("push to a tag, not a digest: '\(target.familiar)'")
        }
        let pusher = ImagePusher(
            store: try store.openStore(), options: registry.registryOptions(), progress: ProgressDisplay(quiet: quiet), chunkSize: chunkSize
        )
        let digest = try await pusher.push(name, as: target)
        print(quiet ? digest.description : "\(target.description): pushed \(digest)")
    }
}

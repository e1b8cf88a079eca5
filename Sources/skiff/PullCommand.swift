#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Engine
import ImageStore
import LinuxSupport
import OCISpec
import Registry

/// `skiff pull NAME`: downloads an image and unpacks its layers into the store.
struct PullCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pull", abstract: "Pull an image from a registry.")

    @OptionGroup var store: StoreOptions
    @OptionGroup var registry: RegistryCommandOptions

    @Option(help: "Platform to pull from a multi-platform image, os/arch[/variant].")
    var platform: String = "linux/amd64"

    @Flag(name: .shortAndLong, help: "Print only the image digest.")
    var quiet = false

    @Argument(help: "Image name, e.g. busybox, 127.0.0.1:5000/app:1.0 or app@sha256:...")
    var name: String

    func run() async throws {
        // Ctrl-C or a stop mid-download or mid-unpack takes the half-made blob or snapshot along.
        InterruptCleanup.install()
        let reference = try store.reference(name)
        let platform = try Platform(parsing: self.platform)
        let display = ProgressDisplay(quiet: quiet)
        let puller = ImagePuller(store: try store.openStore(), options: registry.registryOptions(), platform: platform, progress: display)
        if !quiet { print("Pulling \(reference.description)") }
        let image: Image
        do {
            image = try await puller.pull(reference)
        } catch {
            // The layers that arrived whole and verified are kept: say so, so a retry is no surprise.
            let note =
                "skiff: note: layers of \(reference.description) that were downloaded and verified before this failure stay in the store; pulling again reuses them (skiff image prune removes them)\n"
            _ = note.withCString { write(2, $0, strlen($0)) }
            throw error
        }
        EventJournal(root: try store.openStore().root).record(.image("pull", id: reference.description, name: reference.description))
        print(quiet ? image.manifestDigest.description : "\(reference.description): image \(image.id.shortID)")
    }
}

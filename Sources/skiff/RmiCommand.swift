import ArgumentParser
import Engine
import ImageStore
import OCISpec

/// `skiff rmi NAME...`: removes names and whatever content only they used.
struct RmiCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rmi", abstract: "Remove images.")

    @OptionGroup var store: StoreOptions

    @Flag(name: .shortAndLong, help: "Remove even if containers use the image (their root filesystems keep their layers).")
    var force = false

    @Argument(help: "Image names or IDs.")
    var names: [String]

    func run() async throws {
        let store = try self.store.openStore()
        var ids: [String: Digest] = [:]
        for name in names {
            if let image = try? store.withSharedLock({ try store.image(name, defaultRegistry: self.store.defaultRegistry) }) {
                for each in image.names { ids[each] = image.id }
            }
        }
        let report = try store.remove(names, force: force, defaultRegistry: self.store.defaultRegistry)
        EventJournal(root: store.root).recordRemoval(report, images: ids)
        for name in report.removedNames { print("Untagged: \(name)") }
        for blob in report.removedBlobs { print("Deleted: \(blob)") }
    }
}

/// `skiff image prune`: removes content nothing references (with --all, unused images too).
struct ImagePruneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "prune", abstract: "Remove unused images and content.")

    @OptionGroup var store: StoreOptions

    @Flag(name: .shortAndLong, help: "Remove every image no container uses, not only unreferenced content.")
    var all = false

    @Flag(name: .shortAndLong, help: "Do not ask (kept for docker compatibility; skiff never asks).")
    var force = false

    func run() async throws {
        let store = try self.store.openStore()
        let report = try store.prune(all: all)
        for name in report.removedNames { print("Untagged: \(name)") }
        print(
            "Deleted \(report.removedBlobs.count) blobs and \(report.removedSnapshots.count) layer snapshots; reclaimed \(ProgressDisplay.bytes(report.reclaimedBytes))"
        )
    }
}

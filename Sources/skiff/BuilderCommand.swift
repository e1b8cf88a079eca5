import ArgumentParser
import Builder
import ImageStore

/// `skiff builder prune`: removes skiff build's cache (its `localhost/skiff-build-cache` names,
/// then whatever nothing else references).
struct BuilderCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "builder", abstract: "Manage the build cache.", subcommands: [BuilderPruneCommand.self])
}

struct BuilderPruneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "prune", abstract: "Remove the build cache.")

    @OptionGroup var store: StoreOptions
    @Flag(name: [.customShort("f"), .customLong("force")], help: "Do not ask for confirmation (skiff never asks).") var force = false
    @Flag(name: [.customShort("a"), .customLong("all")], help: "Remove all of the cache (the default: skiff keeps no other kind).")
    var all = false

    func run() async throws {
        try await withEngineErrors {
            let store = try self.store.openStore()
            let names = try store.withSharedLock { try store.records() }.keys.filter {
                $0.hasPrefix(ImageBuilder.cacheRepository + ":")
            }
            let report = try store.remove(names.sorted())
            print("Total reclaimed space: \(ProgressDisplay.bytes(report.reclaimedBytes))")
        }
    }
}

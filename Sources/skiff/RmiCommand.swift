import ArgumentParser
import Engine
import Foundation
import ImageStore

/// `skiff rmi NAME...`: removes names and whatever content only they used.
struct RmiCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rmi", abstract: "Remove images.")

    @OptionGroup var store: StoreOptions

    @Flag(
        name: .shortAndLong,
        help:
            "Remove even if stopped containers use the image (their root filesystems keep their layers); never one a running container uses."
    )
    var force = false

    @Argument(help: "Image names or IDs.")
    var names: [String]

    func run() async throws {
        let engine = try Engine(
            root: self.store.absoluteRoot,
            runtimeRoot: ProcessInfo.processInfo.environment["SKIFF_RUNTIME_ROOT"] ?? Engine.defaultRuntimeRoot,
            executable: CommandLine.arguments[0])
        let report = try engine.removeImages(names, force: force, defaultRegistry: self.store.defaultRegistry)
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

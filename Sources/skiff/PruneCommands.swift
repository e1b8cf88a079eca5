import ArgumentParser
import Builder
import Engine
import ImageStore

/// `skiff network prune`: every network no container is on (the default `bridge` stays).
struct NetworkPruneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "prune", abstract: "Remove all unused networks.")

    @OptionGroup var engineOptions: EngineOptions
    @Flag(name: [.customShort("f"), .customLong("force")], help: "Do not ask for confirmation.") var force = false

    func run() async throws {
        try await withEngineErrors {
            guard force || Confirmation.ask("This will remove all networks not used by at least one container.") else { return }
            let removed = try engineOptions.openEngine().pruneNetworks()
            if !removed.isEmpty { print("Deleted Networks:\n" + removed.joined(separator: "\n")) }
        }
    }
}

/// `skiff system prune [-a] [--volumes] [-f]`: docker's sweep: stopped containers, unused
/// networks, unreferenced image content (with -a, every image no container uses), the build
/// cache, and with --volumes the anonymous volumes nothing uses.
struct SystemPruneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "prune", abstract: "Remove unused data.")

    @OptionGroup var engineOptions: EngineOptions
    @Flag(name: [.customShort("a"), .customLong("all")], help: "Remove every image no container uses, not only unreferenced content.")
    var all = false
    @Flag(help: "Remove anonymous volumes no container uses too.") var volumes = false
    @Flag(name: [.customShort("f"), .customLong("force")], help: "Do not ask for confirmation.") var force = false

    func run() async throws {
        try await withEngineErrors {
            let what =
                ["all stopped containers", "all networks not used by at least one container"]
                + (volumes ? ["all anonymous volumes not used by at least one container"] : [])
                + [all ? "all images without at least one container associated to them" : "all dangling images", "unused build cache"]
            guard force || Confirmation.ask("This will remove:\n  - " + what.joined(separator: "\n  - ")) else { return }
            let engine = try engineOptions.openEngine()
            var reclaimed: Int64 = 0
            let containers = try engine.pruneContainers()
            reclaimed += containers.reclaimedBytes
            if !containers.removed.isEmpty { print("Deleted Containers:\n" + containers.removed.joined(separator: "\n") + "\n") }
            let networks = try engine.pruneNetworks()
            if !networks.isEmpty { print("Deleted Networks:\n" + networks.joined(separator: "\n") + "\n") }
            if volumes {
                let removed = try engine.pruneVolumes(all: false)
                if !removed.isEmpty { print("Deleted Volumes:\n" + removed.joined(separator: "\n") + "\n") }
            }
            let cache = try engine.images.withSharedLock { try engine.images.records() }.keys.filter {
                $0.hasPrefix(ImageBuilder.cacheRepository + ":")
            }
            if !cache.isEmpty { reclaimed += try engine.removeImages(cache.sorted(), force: true).reclaimedBytes }
            let images = try engine.images.prune(all: all)
            reclaimed += images.reclaimedBytes
            if !images.removedNames.isEmpty {
                print("Deleted Images:\n" + images.removedNames.map { "untagged: " + $0 }.joined(separator: "\n") + "\n")
            }
            print("Total reclaimed space: \(ByteFormat.decimal(reclaimed))")
        }
    }
}

/// `skiff completion bash|zsh|fish`: the shell completion script ArgumentParser generates.
struct CompletionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "completion", abstract: "Print a shell completion script (bash, zsh or fish).",
        discussion: "bash: skiff completion bash > /etc/bash_completion.d/skiff; zsh: skiff completion zsh > \"${fpath[1]}/_skiff\"")

    @Argument(help: "bash, zsh or fish.") var shell: String

    func run() throws {
        guard let kind = CompletionShell(rawValue: shell) else {
            throw ValidationError("unknown shell '\(shell)': use bash, zsh or fish")
        }
        print(Skiff.completionScript(for: kind))
    }
}

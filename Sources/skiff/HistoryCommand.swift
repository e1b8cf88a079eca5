import ArgumentParser
import Engine
import Foundation
import ImageStore
import LinuxSupport

/// `skiff history IMAGE`: the image's history entries, newest first, with docker's columns.
struct HistoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "history", abstract: "Show the history of an image.")

    @OptionGroup var store: StoreOptions
    @Flag(name: .customLong("no-trunc"), help: "Do not truncate the output.") var noTrunc = false
    @Flag(name: [.customShort("q"), .customLong("quiet")], help: "Only show image IDs.") var quiet = false
    @Flag(name: [.customShort("H"), .customLong("human")], inversion: .prefixedNo, help: "Sizes and dates in human-readable form.")
    var human = true
    @Argument(help: "Image name or ID.") var image: String

    func run() async throws {
        try await withEngineErrors {
            let store = try self.store.openStore()
            let image = try store.withSharedLock { try store.image(self.image, defaultRegistry: self.store.defaultRegistry) }
            let id = noTrunc ? image.id.description : String(image.id.encoded.prefix(12))
            // Entries that made a layer take the layers in order; the newest entry is the image.
            var layers = image.manifest.layers[...]
            var rows: [[String]] = []
            for entry in image.config.history ?? [] {
                var size: Int64 = 0
                if entry.emptyLayer != true, let layer = layers.popFirst() { size = layer.size }
                let now = Timestamp.nowSeconds()
                let created =
                    entry.created.flatMap { text in
                        human ? Timestamp.seconds(text).map { HumanDuration.describe(now - $0) + " ago" } : text
                    } ?? "N/A"
                var createdBy = entry.createdBy ?? ""
                if !noTrunc {
                    createdBy = createdBy.replacingOccurrences(of: "\n", with: " ")
                    if createdBy.count > 45 { createdBy = String(createdBy.prefix(44)) + "…" }
                }
                rows.append(["<missing>", created, createdBy, human ? ProgressDisplay.bytes(size) : "\(size)", entry.comment ?? ""])
            }
            rows.reverse()
            if !rows.isEmpty { rows[0][0] = id }
            if quiet {
                for row in rows { print(row[0]) }
                return
            }
            print(TextTable.render([["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"]] + rows))
        }
    }
}

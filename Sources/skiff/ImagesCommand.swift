import ArgumentParser
import Foundation
import ImageStore
import JSON
import OCISpec

/// `skiff images`: lists stored images, as a table or as JSON.
struct ImagesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "images", abstract: "List images.")

    @OptionGroup var store: StoreOptions

    @Option(help: "Output format: table, json, or a Go template ('{{.Repository}}:{{.Tag}}', 'table {{.ID}}\\t{{.Size}}').")
    var format: String = "table"

    @Flag(name: .shortAndLong, help: "Print only image IDs.")
    var quiet = false

    /// One row of `skiff images --format json`, with docker's field names.
    struct Row: Encodable {
        var Repository: String
        var Tag: String
        var Digest: String
        var ID: String
        var CreatedAt: String
        var Size: Int64
        var Names: [String]
    }

    func run() async throws {
        let store = try self.store.openStore()
        let records = try store.withSharedLock { try store.records() }
        // A damaged image is skipped and reported: it must not hide the others.
        let (images, damaged) = try store.withSharedLock { try store.imagesReportingDamage() }
        for entry in damaged { printWarning(entry.explanation) }
        var rows: [Row] = []
        for image in images {
            let names = image.names.isEmpty ? ["<none>"] : image.names
            for name in names {
                let reference = try? ImageReference(parsing: name)
                rows.append(
                    Row(
                        Repository: reference?.familiarName ?? "<none>", Tag: reference?.tag ?? "<none>",
                        Digest: (records[name]?.index ?? image.manifestDigest).description, ID: image.id.description,
                        CreatedAt: image.config.created ?? "", Size: image.size, Names: image.names))
            }
        }
        if quiet {
            var seen = Set<String>()
            for row in rows where seen.insert(row.ID).inserted { print(String(row.ID.dropFirst(7).prefix(12))) }
            return
        }
        switch format {
        case "json":
            print(rows.isEmpty ? "[]" : String(decoding: try JSONEncoding.encode(rows, pretty: true, sortedKeys: true), as: UTF8.self))
        case "table":
            let header = ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"]
            let table = rows.map {
                [
                    $0.Repository, $0.Tag, String($0.ID.dropFirst(7).prefix(12)), String($0.CreatedAt.prefix(19)),
                    ProgressDisplay.bytes($0.Size),
                ]
            }
            let widths = (0..<header.count).map { column in ([header] + table).map { $0[column].count }.max() ?? 0 }
            for line in [header] + table {
                print(zip(line, widths).map { $0.0.padding(toLength: $0.1, withPad: " ", startingAt: 0) }.joined(separator: "   "))
            }
        default:
            try await withEngineErrors {
                try TemplateOutput.printRows(rows.map(TemplateRow.init), format: format, headers: TemplateRow.headers)
            }
        }
    }

    /// What a `--format` template sees for each image: docker's CLI field names and forms.
    struct TemplateRow: Encodable {
        var Repository: String
        var Tag: String
        var Digest: String
        var ID: String
        var CreatedAt: String
        var Size: String

        static let headers = TemplateRow(
            Repository: "REPOSITORY", Tag: "TAG", Digest: "DIGEST", ID: "IMAGE ID", CreatedAt: "CREATED AT", Size: "SIZE")

        init(Repository: String, Tag: String, Digest: String, ID: String, CreatedAt: String, Size: String) {
            (self.Repository, self.Tag, self.Digest, self.ID, self.CreatedAt, self.Size) = (Repository, Tag, Digest, ID, CreatedAt, Size)
        }

        init(_ row: Row) {
            self.init(
                Repository: row.Repository, Tag: row.Tag, Digest: row.Digest, ID: String(row.ID.dropFirst(7).prefix(12)),
                CreatedAt: row.CreatedAt, Size: ProgressDisplay.bytes(row.Size))
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Builder
import Engine
import Foundation
import ImageStore
import LinuxSupport
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

    @Flag(name: .shortAndLong, help: "Show all images, the build cache's too (localhost/skiff-build-cache, which skiff build keeps).")
    var all = false

    @Flag(help: "Show digests.") var digests = false

    @Flag(name: .customLong("no-trunc"), help: "Do not truncate image IDs.") var noTrunc = false

    @Option(
        name: .shortAndLong,
        help: ArgumentHelp(
            "Filter KEY=VALUE: dangling=true|false, reference=PATTERN (shell wildcards), label=KEY[=VALUE], before=IMAGE, since=IMAGE.",
            valueName: "filter"))
    var filter: [String] = []

    @Argument(help: "Only this repository, REPOSITORY[:TAG] (shell wildcards allowed, as docker's).")
    var reference: String?

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
        let filters = try ImageFilters(reference: reference, options: filter, images: images, defaultRegistry: self.store.defaultRegistry)
        for image in images.sorted(by: { ($0.config.created ?? "") > ($1.config.created ?? "") }) where filters.matches(image) {
            let names = image.names.isEmpty ? ["<none>"] : image.names
            for name in names where filters.matches(name: name) && (all || !name.hasPrefix(ImageBuilder.cacheRepository + ":")) {
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
            for row in rows where seen.insert(row.ID).inserted { print(noTrunc ? row.ID : String(row.ID.dropFirst(7).prefix(12))) }
            return
        }
        switch format {
        case "json":
            print(rows.isEmpty ? "[]" : String(decoding: try JSONEncoding.encode(rows, pretty: true, sortedKeys: true), as: UTF8.self))
        case "table":
            let header = ["REPOSITORY", "TAG"] + (digests ? ["DIGEST"] : []) + ["IMAGE ID", "CREATED", "SIZE"]
            let now = Timestamp.nowSeconds()
            let table = rows.map {
                [$0.Repository, $0.Tag] + (digests ? [$0.Digest] : []) + [
                    noTrunc ? $0.ID : String($0.ID.dropFirst(7).prefix(12)),
                    Timestamp.seconds($0.CreatedAt).map { HumanDuration.describe(now - $0) + " ago" } ?? "N/A",
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

/// `images REPOSITORY[:TAG]` and `images --filter`, as docker reads them.
struct ImageFilters {
    var patterns: [String] = []
    var dangling: Bool?
    var labels: [(key: String, value: String?)] = []
    var before: Double?
    var since: Double?

    init(reference: String?, options: [String], images: [Image], defaultRegistry: String) throws {
        if let reference { patterns.append(reference) }
        func created(_ name: String) throws -> Double {
            let image =
                images.first { $0.names.contains(name) || $0.names.contains { Self.familiar($0) == Self.familiar(name) } }
                ?? images.first { $0.id.description.dropFirst(7).hasPrefix(name) || $0.id.description == name }
            guard let image else { throw EngineError.invalidOption("--filter: no such image '\(name)'") }
            return Timestamp.seconds(image.config.created ?? "") ?? 0
        }
        for option in options {
            let parts = option.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else {
                throw EngineError.invalidOption(
                    "invalid --filter '\(option)': use dangling, reference, label, before or since as KEY=VALUE")
            }
            switch parts[0] {
            case "dangling":
                guard let value = Bool(parts[1]) else {
                    throw EngineError.invalidOption("invalid --filter dangling='\(parts[1])': use true or false")
                }
                dangling = value
            case "reference": patterns.append(parts[1])
            case "label":
                let label = parts[1].split(separator: "=", maxSplits: 1).map(String.init)
                labels.append((label[0], label.count > 1 ? label[1] : nil))
            case "before": before = try created(parts[1])
            case "since": since = try created(parts[1])
            default:
                throw EngineError.invalidOption(
                    "invalid --filter '\(parts[0])': images are filtered by dangling, reference, label, before and since")
            }
        }
    }

    /// docker's short form of a name: no docker.io/library/, and :latest implied.
    static func familiar(_ name: String) -> String {
        guard let reference = try? ImageReference(parsing: name) else { return name }
        return reference.familiarName + ":" + (reference.tag ?? "latest")
    }

    func matches(_ image: Image) -> Bool {
        if let dangling, dangling != image.names.isEmpty { return false }
        let created = Timestamp.seconds(image.config.created ?? "") ?? 0
        if let before, created >= before { return false }
        if let since, created <= since { return false }
        let imageLabels = image.config.config?.labels ?? [:]
        for label in labels {
            guard let value = imageLabels[label.key], label.value == nil || label.value == value else { return false }
        }
        return true
    }

    /// A name matches when any pattern matches its repository (`busybox`, `busy*`) or its
    /// repository and tag (`busybox:1.36`, `busybox:1.*`).
    func matches(name: String) -> Bool {
        guard !patterns.isEmpty else { return true }
        guard let reference = try? ImageReference(parsing: name) else { return false }
        let repository = reference.familiarName
        let full = repository + ":" + (reference.tag ?? "latest")
        return patterns.contains { pattern in
            fnmatch(pattern, pattern.contains(":") ? full : repository, 0) == 0
                || fnmatch(pattern, pattern.contains(":") ? name : String(name.split(separator: ":").first ?? ""), 0) == 0
        }
    }
}

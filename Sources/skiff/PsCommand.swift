import ArgumentParser
import ContainerRuntime
import Engine
import Foundation
import LinuxSupport
import Templates

/// `skiff ps [-a] [-q] [--format json]`: containers with their live status.
struct PsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ps", abstract: "List containers.")

    @OptionGroup var engineOptions: EngineOptions
    @Flag(name: [.customShort("a"), .customLong("all")], help: "Show all containers (default: running ones).") var all = false
    @Flag(name: [.customShort("q"), .customLong("quiet")], help: "Print only IDs.") var quiet = false
    @Option(help: "Output format: table, json, or a Go template ('{{.Names}}', 'table {{.ID}}\\t{{.Status}}').") var format: String =
        "table"
    @Option(
        name: [.customShort("f"), .customLong("filter")],
        help: ArgumentHelp(
            "Filter KEY=VALUE: id, name (a regular expression), label, status, ancestor, before, since, exited, volume, network, publish, expose, health, is-task, isolation (process or vm).",
            valueName: "filter"))
    var filter: [String] = []
    @Option(name: [.customShort("n"), .customLong("last")], help: "Show the N most recently created containers (all states).")
    var last: Int?
    @Flag(name: [.customShort("l"), .customLong("latest")], help: "Show the most recently created container (all states).")
    var latest = false
    @Flag(name: [.customShort("s"), .customLong("size")], help: "Show each container's writable layer size (and the image's, as virtual).")
    var size = false
    @Flag(name: .customLong("no-trunc"), help: "Do not truncate IDs and commands.") var noTrunc = false

    struct Row: Codable {
        var Id: String
        var Names: [String]
        var Image: String
        var ImageID: String
        var Command: [String]
        var Created: String
        var State: String
        var Status: String
        var ExitCode: Int32?
        var Pid: Int32?
        var Ports: [String]
        var Labels: [String: String]?
        /// "process", or "vm" for a container in its own micro-VM.
        var Isolation: String
        /// With --size: the writable layer's bytes, and those plus the image's.
        var SizeRw: Int64? = nil
        var SizeRootFs: Int64? = nil
    }

    func run() async throws {
        try await withEngineErrors {
            let engine = try engineOptions.openEngine()
            let filters = try ContainerListFilters(options: filter)
            if let last, last < 0 { throw EngineError.invalidOption("--last \(last): give a number of containers, 0 or more") }
            let now = Timestamp.nowSeconds()
            let listing = engine.listContainers(all: all, filters: filters, last: latest ? 1 : last, now: now)
            let imageSizes = size ? engine.imageSizes() : [:]
            var rows: [Row] = listing.map { item in
                let record = item.record
                var row = Row(
                    Id: record.id, Names: [record.name], Image: record.image, ImageID: record.imageID, Command: record.command,
                    Created: record.created, State: item.state, Status: item.status,
                    ExitCode: item.live.state == .exited ? item.live.exitCode : nil, Pid: item.live.isRunning ? record.pid : nil,
                    Ports: item.live.isRunning ? (record.networkSettings?.ports ?? []).map(\.description) : [],
                    Labels: record.labels, Isolation: record.isolation)
                if size {
                    let writable = DiskUsage.bytes(under: engine.store.directory(for: record.id) + "/upper")
                    row.SizeRw = writable
                    row.SizeRootFs = writable + (imageSizes[record.imageID] ?? 0)
                }
                return row
            }
            // Directories without a usable record are containers too: listed with -a so that
            // `rm -f` can name them, and explained on stderr.
            if all && filters.isEmpty && last == nil && !latest {
                for entry in engine.store.unlisted(known: Set(engine.store.all().map(\.id))) {
                    printWarning(entry.explanation)
                    let state: String
                    switch entry.problem {
                    case .incomplete(_, let alive): state = alive ? "creating" : "incomplete"
                    case .damaged: state = "damaged"
                    }
                    rows.append(
                        Row(
                            Id: entry.id, Names: [""], Image: "", ImageID: "", Command: [], Created: "", State: state,
                            Status: entry.status, ExitCode: nil, Pid: nil, Ports: [], Labels: nil, Isolation: ""))
                }
            }
            if quiet {
                for row in rows { print(noTrunc ? row.Id : String(row.Id.prefix(12))) }
                return
            }
            switch format {
            case "json":
                print(String(decoding: try RuntimeJSON.encode(rows, pretty: true), as: UTF8.self))
            case "table":
                var header = ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
                if size { header.append("SIZE") }
                var lines = [header]
                for row in rows {
                    var command = row.Command.joined(separator: " ")
                    if command.count > 20 && !noTrunc { command = String(command.prefix(19)) + "…" }
                    let created = Timestamp.seconds(row.Created).map { HumanDuration.describe(now - $0) + " ago" } ?? ""
                    var line = [
                        noTrunc ? row.Id : String(row.Id.prefix(12)), row.Image, "\"\(command)\"", created, row.Status,
                        row.Ports.joined(separator: ", "), row.Names[0],
                    ]
                    if size {
                        line.append("\(ByteFormat.decimal(row.SizeRw ?? 0)) (virtual \(ByteFormat.decimal(row.SizeRootFs ?? 0)))")
                    }
                    lines.append(line)
                }
                let widths = (0..<header.count).map { column in lines.map { $0[column].count }.max() ?? 0 }
                for line in lines {
                    print(
                        line.enumerated().map {
                            $0.offset == header.count - 1
                                ? $0.element : $0.element.padding(toLength: widths[$0.offset] + 3, withPad: " ", startingAt: 0)
                        }.joined())
                }
            default:
                try printTemplate(rows, now: now)
            }
        }
    }
}

extension PsCommand {
    /// What a `--format` template sees for each container: docker's CLI field names and forms.
    struct TemplateRow: Codable {
        var ID: String
        var Names: String
        var Image: String
        var Command: String
        var CreatedAt: String
        var RunningFor: String
        var Status: String
        var State: String
        var Ports: String
        var Labels: String
        /// skiff's own field: "process", or "vm" for a container in its own micro-VM.
        var Isolation: String

        static let headers = TemplateRow(
            ID: "CONTAINER ID", Names: "NAMES", Image: "IMAGE", Command: "COMMAND", CreatedAt: "CREATED AT",
            RunningFor: "CREATED", Status: "STATUS", State: "STATE", Ports: "PORTS", Labels: "LABELS",
            Isolation: "ISOLATION")

        init(
            ID: String, Names: String, Image: String, Command: String, CreatedAt: String, RunningFor: String, Status: String,
            State: String, Ports: String, Labels: String, Isolation: String
        ) {
            (self.ID, self.Names, self.Image, self.Command, self.CreatedAt) = (ID, Names, Image, Command, CreatedAt)
            (self.RunningFor, self.Status, self.State, self.Ports, self.Labels) = (RunningFor, Status, State, Ports, Labels)
            self.Isolation = Isolation
        }

        init(_ row: Row, now: Double) {
            let created = Timestamp.seconds(row.Created)
            self.init(
                ID: String(row.Id.prefix(12)), Names: row.Names.joined(separator: ","), Image: row.Image,
                Command: "\"" + row.Command.joined(separator: " ") + "\"", CreatedAt: row.Created,
                RunningFor: created.map { HumanDuration.describe(now - $0) + " ago" } ?? "", Status: row.Status, State: row.State,
                Ports: row.Ports.joined(separator: ", "),
                Labels: (row.Labels ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","),
                Isolation: row.Isolation)
        }
    }

    /// `--format TEMPLATE` or `--format "table TEMPLATE"` over docker's ps fields, with docker's
    /// method `.Label "key"` (the label's value, "" when the container has no such label); its
    /// column header is LABEL.
    func printTemplate(_ rows: [Row], now: Double) throws {
        try TemplateOutput.printRows(
            rows.map { TemplateRow($0, now: now) }, format: format, headers: TemplateRow.headers,
            methods: rows.map { Self.templateMethods(labels: $0.Labels ?? [:]) },
            headerMethods: ["Label": GoTemplate.Method(parameters: 1) { _ in .string("LABEL") }])
    }

    static func templateMethods(labels: [String: String]) -> [String: GoTemplate.Method] {
        ["Label": GoTemplate.Method(parameters: 1) { arguments in .string(labels[arguments[0]] ?? "") }]
    }
}

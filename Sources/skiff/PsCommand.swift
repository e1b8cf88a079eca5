import ArgumentParser
import ContainerRuntime
import Engine
import Foundation
import LinuxSupport

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
        help: "Filter: label=KEY[=VALUE], name=NAME, id=PREFIX, status=created|running|exited.")
    var filter: [String] = []

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
    }

    func run() async throws {
        try await withEngineErrors {
            let engine = try engineOptions.openEngine()
            let filters = try filter.map(ContainerFilter.init(parsing:))
            let records = engine.store.all()
            var rows: [Row] = records.compactMap { record in
                let live = engine.liveStatus(record)
                // Between two runs of a --restart policy the container is listed, as docker does.
                let restarting = engine.isRestarting(record)
                // docker: a status filter also shows stopped containers without -a.
                let showsStopped = all || filters.contains { if case .status = $0 { return true } else { return false } }
                if !showsStopped && !live.isRunning && !restarting { return nil }
                if !filters.allSatisfy({ $0.matches(record, state: restarting ? "restarting" : live.state.rawValue) }) { return nil }
                return Row(
                    Id: record.id, Names: [record.name], Image: record.image, ImageID: record.imageID, Command: record.command,
                    Created: record.created, State: restarting ? "restarting" : live.state.rawValue,
                    Status: StatusText.describe(live, record: record, restarting: restarting),
                    ExitCode: live.state == .exited ? live.exitCode : nil, Pid: live.isRunning ? record.pid : nil,
                    Ports: live.isRunning ? (record.networkSettings?.ports ?? []).map(\.description) : [],
                    Labels: record.labels, Isolation: record.isolation)
            }
            // Directories without a usable record are containers too: listed with -a so that
            // `rm -f` can name them, and explained on stderr.
            if all && filters.isEmpty {
                for entry in engine.store.unlisted(known: Set(records.map(\.id))) {
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
                for row in rows { print(String(row.Id.prefix(12))) }
                return
            }
            switch format {
            case "json":
                print(String(decoding: try RuntimeJSON.encode(rows, pretty: true), as: UTF8.self))
            case "table":
                var lines = [["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]]
                for row in rows {
                    var command = row.Command.joined(separator: " ")
                    if command.count > 20 { command = String(command.prefix(19)) + "…" }
                    lines.append([
                        String(row.Id.prefix(12)), row.Image, "\"\(command)\"", String(row.Created.prefix(19)), row.Status,
                        row.Ports.joined(separator: ", "), row.Names[0],
                    ])
                }
                let widths = (0..<7).map { column in lines.map { $0[column].count }.max() ?? 0 }
                for line in lines {
                    print(
                        line.enumerated().map {
                            $0.offset == 6 ? $0.element : $0.element.padding(toLength: widths[$0.offset] + 3, withPad: " ", startingAt: 0)
                        }.joined())
                }
            default:
                try printTemplate(rows)
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
                RunningFor: created.map { Self.ago(now - $0) } ?? "", Status: row.Status, State: row.State,
                Ports: row.Ports.joined(separator: ", "),
                Labels: (row.Labels ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","),
                Isolation: row.Isolation)
        }

        /// docker's "3 minutes ago".
        static func ago(_ seconds: Double) -> String {
            let s = Int(max(0, seconds))
            func plural(_ n: Int, _ unit: String) -> String { "\(n) \(unit)\(n == 1 ? "" : "s") ago" }
            if s < 60 { return plural(s, "second") }
            if s < 3600 { return plural(s / 60, "minute") }
            if s < 86400 { return plural(s / 3600, "hour") }
            return plural(s / 86400, "day")
        }
    }

    /// `--format TEMPLATE` or `--format "table TEMPLATE"` over docker's ps fields.
    func printTemplate(_ rows: [Row]) throws {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        try TemplateOutput.printRows(rows.map { TemplateRow($0, now: Double(now.tv_sec)) }, format: format, headers: TemplateRow.headers)
    }
}

/// docker's STATUS column: Up, Exited (N), Created.
enum StatusText {
    static func describe(_ live: LiveStatus, record: EngineContainer, restarting: Bool = false) -> String {
        switch live.state {
        case .running: return live.monitorLost ? "Up (monitor lost: output and exit code are not collected)" : "Up"
        case .created: return record.error == nil ? "Created" : "Created (start failed: exit \(record.exitCode ?? 125))"
        case .exited:
            if restarting, let code = live.exitCode { return "Restarting (\(code))" }
            if let code = live.exitCode { return "Exited (\(code))" }
            return "Exited (unknown: its monitor was killed)"
        }
    }
}

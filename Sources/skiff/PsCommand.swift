import ArgumentParser
import ContainerRuntime
import Engine
import Foundation

/// `skiff ps [-a] [-q] [--format json]`: containers with their live status.
struct PsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ps", abstract: "List containers.")

    @OptionGroup var engineOptions: EngineOptions
    @Flag(name: [.customShort("a"), .customLong("all")], help: "Show all containers (default: running ones).") var all = false
    @Flag(name: [.customShort("q"), .customLong("quiet")], help: "Print only IDs.") var quiet = false
    @Option(help: "Output format: table or json.") var format: String = "table"
    @Option(name: [.customShort("f"), .customLong("filter")], help: "Filter: label=KEY[=VALUE], name=NAME, id=PREFIX, status=created|running|exited.")
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
    }

    func run() async throws {
        try await withEngineErrors {
            let engine = try engineOptions.openEngine()
            let filters = try filter.map(ContainerFilter.init(parsing:))
            let rows: [Row] = engine.store.all().compactMap { record in
                let live = engine.liveStatus(record)
                // Between two runs of a --restart policy the container is listed, as docker does.
                let restarting = engine.isRestarting(record)
                // docker: a status filter also shows stopped containers without -a.
                let showsStopped = all || filters.contains { if case .status = $0 { return true } else { return false } }
                if !showsStopped && !live.isRunning && !restarting { return nil }
                if !filters.allSatisfy({ $0.matches(record, state: restarting ? "restarting" : live.state.rawValue) }) { return nil }
                return Row(Id: record.id, Names: [record.name], Image: record.image, ImageID: record.imageID, Command: record.command,
                           Created: record.created, State: restarting ? "restarting" : live.state.rawValue,
                           Status: StatusText.describe(live, record: record, restarting: restarting),
                           ExitCode: live.state == .exited ? live.exitCode : nil, Pid: live.isRunning ? record.pid : nil,
                           Ports: live.isRunning ? (record.networkSettings?.ports ?? []).map(\.description) : [],
                           Labels: record.labels)
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
                    lines.append([String(row.Id.prefix(12)), row.Image, "\"\(command)\"", String(row.Created.prefix(19)), row.Status, row.Ports.joined(separator: ", "), row.Names[0]])
                }
                let widths = (0..<7).map { column in lines.map { $0[column].count }.max() ?? 0 }
                for line in lines {
                    print(line.enumerated().map { $0.offset == 6 ? $0.element : $0.element.padding(toLength: widths[$0.offset] + 3, withPad: " ", startingAt: 0) }.joined())
                }
            default:
                throw EngineError.invalidOption("unknown --format '\(format)': use table or json")
            }
        }
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

#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import ContainerRuntime
import Engine
import Foundation
import LinuxSupport

/// `skiff stats [--no-stream] [--format table|json|TEMPLATE] [CONTAINER...]`: CPU, memory and
/// pids of running containers from their cgroups (v1 or v2). CPU % is measured over half a second.
/// Templates see docker's fields (TemplateRow), `table TEMPLATE` adds docker's column names.
struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stats", abstract: "Show resource usage of running containers.")

    @OptionGroup var engineOptions: EngineOptions
    @Flag(name: .customLong("no-stream"), help: "Print one sample and exit.") var noStream = false
    @Option(
        help:
            "Output format: table, json (one object a line), or a Go template ('{{.Name}} {{.CPUPerc}}', 'table {{.Name}}\\t{{.MemUsage}}')."
    )
    var format: String = "table"
    @Argument(help: "Containers (default: all running).") var containers: [String] = []

    struct Row: Codable {
        var ID: String
        var Name: String
        var CPUPerc: String
        var MemUsage: String
        var MemPerc: String
        var PIDs: String
        var CPUPercent: Double
        var MemoryUsageBytes: UInt64
        var MemoryLimitBytes: UInt64
        var PidsCurrent: UInt64
    }

    func run() async throws {
        try await withEngineErrors {
            // A template that does not parse fails before the first half-second sample.
            if !["table", "json"].contains(format) {
                _ = try TemplateOutput.template(
                    format.hasPrefix("table ") ? String(format.dropFirst(6)) : format, parseExitCode: TemplateOutput.listParseExitCode)
            }
            let engine = try engineOptions.openEngine()
            let named: [EngineContainer] = try containers.map { reference in
                let record = try engine.store.resolve(reference)
                guard engine.liveStatus(record).isRunning else {
                    throw EngineError.wrongState(container: record.name, status: "not running", action: "show the stats of")
                }
                return record
            }
            repeat {
                // Without names: every running container, looked up again on each refresh.
                let records = containers.isEmpty ? engine.store.all().filter { engine.liveStatus($0).isRunning } : named
                let rows = try Self.measure(engine: engine, records: records)
                switch format {
                case "json":
                    for row in rows { print(String(decoding: try RuntimeJSON.encode(row, pretty: false), as: UTF8.self)) }
                case "table":
                    if !noStream { print("\u{1B}[2J\u{1B}[H", terminator: "") }
                    print(
                        TextTable.render(
                            [["CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "PIDS"]]
                                + rows.map { [String($0.ID.prefix(12)), $0.Name, $0.CPUPerc, $0.MemUsage, $0.MemPerc, $0.PIDs] }))
                default:
                    if !noStream { print("\u{1B}[2J\u{1B}[H", terminator: "") }
                    // docker's .Container is the name or ID as given, the full ID without names.
                    let given = Dictionary(zip(named.map(\.id), containers), uniquingKeysWith: { first, _ in first })
                    try TemplateOutput.printRows(
                        rows.map { TemplateRow($0, container: given[$0.ID] ?? $0.ID) }, format: format, headers: TemplateRow.headers)
                }
                fflush(nil)
            } while !noStream
        }
    }

    static func measure(engine: Engine, records: [EngineContainer]) throws -> [Row] {
        let first = records.map { try? engine.sample($0) }
        let start = MonotonicClock.seconds()
        usleep(500_000)
        let wall = UInt64((MonotonicClock.seconds() - start) * 1e9)
        let hostMemory = Engine.hostMemory()
        return zip(records, first).compactMap { record, before in
            guard let before, let after = try? engine.sample(record) else { return nil }
            let cpu = CgroupStatsParser.cpuPercent(previous: before.cpuNanoseconds, current: after.cpuNanoseconds, wallNanoseconds: wall)
            let limit = min(after.memoryLimit ?? hostMemory, hostMemory > 0 ? hostMemory : UInt64.max)
            let memoryPercent = limit > 0 ? Double(after.memoryUsage) / Double(limit) * 100 : 0
            return Row(
                ID: record.id, Name: record.name, CPUPerc: String(format: "%.2f%%", cpu),
                MemUsage: "\(ByteFormat.binary(after.memoryUsage)) / \(ByteFormat.binary(limit))",
                MemPerc: String(format: "%.2f%%", memoryPercent), PIDs: "\(after.pids)", CPUPercent: (cpu * 100).rounded() / 100,
                MemoryUsageBytes: after.memoryUsage, MemoryLimitBytes: limit, PidsCurrent: after.pids)
        }
    }
}

extension StatsCommand {
    /// What a `--format` template sees for each container: docker's stats fields. skiff's own
    /// stats do not measure network and block I/O: NetIO and BlockIO are "--".
    struct TemplateRow: Codable {
        var Container: String
        var Name: String
        var ID: String
        var CPUPerc: String
        var MemUsage: String
        var MemPerc: String
        var NetIO: String
        var BlockIO: String
        var PIDs: String

        static let headers = TemplateRow(
            Container: "CONTAINER", Name: "NAME", ID: "CONTAINER ID", CPUPerc: "CPU %", MemUsage: "MEM USAGE / LIMIT", MemPerc: "MEM %",
            NetIO: "NET I/O", BlockIO: "BLOCK I/O", PIDs: "PIDS")

        init(
            Container: String, Name: String, ID: String, CPUPerc: String, MemUsage: String, MemPerc: String, NetIO: String,
            BlockIO: String, PIDs: String
        ) {
            (self.Container, self.Name, self.ID, self.CPUPerc, self.MemUsage) = (Container, Name, ID, CPUPerc, MemUsage)
            (self.MemPerc, self.NetIO, self.BlockIO, self.PIDs) = (MemPerc, NetIO, BlockIO, PIDs)
        }

        init(_ row: Row, container: String) {
            self.init(
                Container: container, Name: row.Name, ID: String(row.ID.prefix(12)), CPUPerc: row.CPUPerc, MemUsage: row.MemUsage,
                MemPerc: row.MemPerc, NetIO: "--", BlockIO: "--", PIDs: row.PIDs)
        }
    }
}

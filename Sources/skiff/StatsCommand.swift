#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import ContainerRuntime
import Engine
import Foundation
import LinuxSupport

/// `skiff stats [--no-stream] [--format json] [CONTAINER...]`: CPU, memory and pids of running
/// containers from their cgroups (v1 or v2). CPU % is measured over half a second.
struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stats", abstract: "Show resource usage of running containers.")

    @OptionGroup var engineOptions: EngineOptions
    @Flag(name: .customLong("no-stream"), help: "Print one sample and exit.") var noStream = false
    @Option(help: "Output format: table or json (one object a line).") var format: String = "table"
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
            guard ["table", "json"].contains(format) else {
                throw EngineError.invalidOption("unknown --format '\(format)': use table or json")
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
                default:
                    if !noStream { print("\u{1B}[2J\u{1B}[H", terminator: "") }
                    print(
                        TextTable.render(
                            [["CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "PIDS"]]
                                + rows.map { [String($0.ID.prefix(12)), $0.Name, $0.CPUPerc, $0.MemUsage, $0.MemPerc, $0.PIDs] }))
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

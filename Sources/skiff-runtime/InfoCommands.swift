#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import ContainerRuntime
import FoundationEssentials
import LinuxSupport
import OCISpec

struct SpecCommand: RuntimeCommand {
    static let configuration = CommandConfiguration(commandName: "spec", abstract: "Write a default config.json into the bundle.")
    @OptionGroup var global: GlobalOptions
    @Option(name: [.short, .long], help: "Bundle directory to write config.json into.") var bundle: String = "."
    @Flag(help: "A config for running without root (user namespace, no cgroups).") var rootless = false

    func execute() throws {
        let path = (bundle.hasSuffix("/") ? bundle : bundle + "/") + "config.json"
        if FileIO.exists(path) {
            throw RuntimeError.invalidBundle(path: bundle, reason: "config.json already exists: remove it first")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(DefaultSpec.make(rootless: rootless, uid: getuid(), gid: getgid()))
        try FileIO.write(path, Array(data) + [10])
    }
}

struct FeaturesCommand: RuntimeCommand {
    static let configuration = CommandConfiguration(commandName: "features", abstract: "Print what this runtime supports, as JSON.")
    @OptionGroup var global: GlobalOptions
    func execute() throws { try JSONOutput.print(FeaturesReport.make()) }
}

struct ListCommand: RuntimeCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List containers.", aliases: ["ls"])
    @OptionGroup var global: GlobalOptions
    @Option(name: [.short, .long], help: "table or json.") var format: String = "table"
    @Flag(name: [.short, .long], help: "Print only ids.") var quiet = false

    struct Entry: Encodable {
        var ociVersion: String
        var id: String
        var pid: Int32
        var status: String
        var bundle: String
        var rootfs: String
        var created: String
        var owner: String
        var annotations: [String: String]?
    }

    func execute() throws {
        let entries = global.runtime.list().map { record, state in
            Entry(ociVersion: state.ociVersion, id: record.id, pid: state.pid ?? 0, status: state.status.rawValue,
                  bundle: record.bundle, rootfs: record.rootfs, created: record.created, owner: "root",
                  annotations: record.annotations)
        }
        if quiet {
            for e in entries { print(e.id) }
            return
        }
        switch format {
        case "json":
            try JSONOutput.print(entries, pretty: false)
        case "table":
            var rows = [["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]]
            rows += entries.map { [$0.id, "\($0.pid)", $0.status, $0.bundle, $0.created, $0.owner] }
            Table.print(rows)
        default:
            throw RuntimeError.invalidConfig("unknown --format '\(format)': use table or json")
        }
    }
}

struct PsCommand: RuntimeCommand {
    static let configuration = CommandConfiguration(commandName: "ps", abstract: "List the processes of a container.")
    @OptionGroup var global: GlobalOptions
    @Option(name: [.short, .long], help: "table or json.") var format: String = "table"
    @Argument(help: "Container id.") var id: String
    @Argument(parsing: .captureForPassthrough, help: "Options for ps (default -ef).") var psArgs: [String] = []

    func execute() throws {
        let pids = try global.runtime.processes(id: id)
        if format == "json" {
            try JSONOutput.print(pids, pretty: false)
            return
        }
        guard format == "table" else { throw RuntimeError.invalidConfig("unknown --format '\(format)': use table or json") }
        let args = psArgs.first == "--" ? Array(psArgs.dropFirst()) : psArgs
        let result = try Subprocess.run(path: "/bin/ps", args: ["ps"] + (args.isEmpty ? ["-ef"] : args),
                                        env: ["PATH=/usr/bin:/bin"], captureOutput: true)
        let lines = String(decoding: result.output, as: UTF8.self).split(separator: "\n")
        guard let header = lines.first else { return }
        let columns = header.split(separator: " ")
        guard let pidColumn = columns.firstIndex(of: "PID") else {
            throw RuntimeError.invalidConfig("ps output has no PID column: include it in the ps options")
        }
        let wanted = Set(pids)
        print(header)
        for line in lines.dropFirst() {
            let fields = line.split(separator: " ")
            if fields.count > pidColumn, let pid = Int32(fields[pidColumn]), wanted.contains(pid) { print(line) }
        }
    }
}

/// Aligned columns, as runc's tabwriter prints them.
enum Table {
    static func print(_ rows: [[String]]) {
        guard let first = rows.first else { return }
        var widths = first.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
        for row in rows {
            let line = row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count + 3)
            }.joined()
            Swift.print(line)
        }
    }
}

import ArgumentParser
import ContainerRuntime
import Engine
import Foundation

/// `skiff volume create/ls/rm/inspect/prune`: named volumes under the store root.
struct VolumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "volume", abstract: "Manage volumes.",
        subcommands: [
            VolumeCreateCommand.self, VolumeListCommand.self, VolumeRemoveCommand.self, VolumeInspectCommand.self,
            VolumePruneCommand.self,
        ])
}

struct VolumeCreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a volume (a generated name without NAME).")

    @OptionGroup var engineOptions: EngineOptions
    @Option(name: [.customShort("l"), .customLong("label")], help: "Set a label: key=value.") var label: [String] = []
    @Argument(help: "Volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]+).") var name: String?

    func run() async throws {
        try await withEngineErrors {
            let volume = try engineOptions.openEngine().createVolume(name, labels: try LabelInput.parse(label))
            print(volume.name)
        }
    }
}

struct VolumeListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List volumes.", aliases: ["list"])

    @OptionGroup var engineOptions: EngineOptions
    @Flag(name: [.customShort("q"), .customLong("quiet")], help: "Print only names.") var quiet = false
    @Option(help: "Output format: table or json.") var format: String = "table"
    @Option(name: [.customShort("f"), .customLong("filter")], help: "Filter: dangling=true|false, name=TEXT, label=KEY[=VALUE].")
    var filter: [String] = []

    func run() async throws {
        try await withEngineErrors {
            let engine = try engineOptions.openEngine()
            let users = engine.volumeUsers()
            let filters = try filter.map(VolumeFilter.init(parsing:))
            let volumes = engine.volumes.all().filter { volume in
                filters.allSatisfy { $0.matches(volume, inUse: !(users[volume.name] ?? []).isEmpty) }
            }
            if quiet {
                for volume in volumes { print(volume.name) }
                return
            }
            switch format {
            case "table":
                print(TextTable.render([["DRIVER", "VOLUME NAME"]] + volumes.map { [$0.driver, $0.name] }))
            case "json":
                let views = volumes.map { VolumeView(engine: engine, record: $0, users: nil) }
                print(String(decoding: try RuntimeJSON.encode(views, pretty: true), as: UTF8.self))
            default:
                throw EngineError.invalidOption("unknown --format '\(format)': use table or json")
            }
        }
    }
}

/// docker's `volume inspect` shape.
struct VolumeView: Codable {
    var Name: String
    var Driver: String
    var Mountpoint: String
    var CreatedAt: String
    var Labels: [String: String]
    var Scope: String
    var Anonymous: Bool
    var UsedBy: [String]?

    init(engine: Engine, record: VolumeRecord, users: [String]?) {
        Name = record.name
        Driver = record.driver
        Mountpoint = engine.volumes.dataPath(of: record.name)
        CreatedAt = record.created
        Labels = record.labels ?? [:]
        Scope = "local"
        Anonymous = record.anonymous
        UsedBy = users
    }
}

struct VolumeInspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Show volumes as JSON.")

    @OptionGroup var engineOptions: EngineOptions
    @Option(name: [.customShort("f"), .customLong("format")], help: "Output: json (default) or a Go template such as '{{.State.Pid}}'.")
    var format: String?
    @Argument(help: "Volume names.") var names: [String]

    func run() async throws {
        try await withEngineErrors {
            let engine = try engineOptions.openEngine()
            let users = engine.volumeUsers()
            let views = try names.map { VolumeView(engine: engine, record: try engine.volumes.load($0), users: users[$0] ?? []) }
            try TemplateOutput.print(views, format: format)
        }
    }
}

struct VolumeRemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove volumes no container uses.", aliases: ["remove"])

    @OptionGroup var engineOptions: EngineOptions
    @Flag(name: [.customShort("f"), .customLong("force")], help: "Do not fail when a volume does not exist.") var force = false
    @Argument(help: "Volume names.") var names: [String]

    func run() async throws {
        try await withEngineErrors {
            let engine = try engineOptions.openEngine()
            var failed = false
            for name in names {
                do {
                    try engine.removeVolume(name)
                    print(name)
                } catch EngineError.noSuchVolume where force {
                    continue
                } catch let error as EngineError {
                    printEngineError(error.description)
                    failed = true
                }
            }
            if failed { throw ExitCode(1) }
        }
    }
}

struct VolumePruneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "prune", abstract: "Remove unused anonymous volumes (all unused with -a).")

    @OptionGroup var engineOptions: EngineOptions
    @Flag(name: [.customShort("a"), .customLong("all")], help: "Remove unused named volumes too.") var all = false
    @Flag(name: [.customShort("f"), .customLong("force")], help: "Do not ask for confirmation.") var force = false

    func run() async throws {
        try await withEngineErrors {
            guard force || Confirmation.ask("This will remove all \(all ? "" : "anonymous ")volumes not used by at least one container.")
            else { return }
            let removed = try engineOptions.openEngine().pruneVolumes(all: all)
            if !removed.isEmpty { print("Deleted Volumes:\n" + removed.joined(separator: "\n") + "\n") }
            print("Total volumes removed: \(removed.count)")
        }
    }
}

/// docker's "Are you sure you want to continue? [y/N]" for prune commands.
enum Confirmation {
    static func ask(_ warning: String) -> Bool {
        print("WARNING! \(warning)\nAre you sure you want to continue? [y/N] ", terminator: "")
        fflush(nil)
        guard let answer = readLine() else { return false }
        return ["y", "yes"].contains(answer.trimmingCharacters(in: .whitespaces).lowercased())
    }
}

/// One `volume ls --filter`, as docker spells them.
enum VolumeFilter {
    case dangling(Bool)
    case name(String)
    case label(key: String, value: String?)

    init(parsing text: String) throws {
        let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[1].isEmpty else {
            throw EngineError.invalidOption("invalid --filter '\(text)': use dangling=true|false, name=TEXT or label=KEY[=VALUE]")
        }
        switch parts[0] {
        case "dangling":
            guard let value = ["true": true, "1": true, "false": false, "0": false][parts[1]] else {
                throw EngineError.invalidOption("invalid --filter '\(text)': dangling takes true or false")
            }
            self = .dangling(value)
        case "name": self = .name(parts[1])
        case "label":
            let label = parts[1].split(separator: "=", maxSplits: 1).map(String.init)
            self = .label(key: label[0], value: label.count > 1 ? label[1] : nil)
        default:
            throw EngineError.invalidOption("unknown --filter '\(parts[0])': use dangling, name or label")
        }
    }

    func matches(_ volume: VolumeRecord, inUse: Bool) -> Bool {
        switch self {
        case .dangling(let dangling): return dangling != inUse
        case .name(let text): return volume.name.contains(text)
        case .label(let key, let value):
            guard let actual = volume.labels?[key] else { return false }
            return value == nil || actual == value
        }
    }
}

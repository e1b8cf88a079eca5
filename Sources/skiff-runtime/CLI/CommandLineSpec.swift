/// One flag of a command, as runc spells it: `--bundle`/`-b`, with or without a value.
struct FlagSpec: Sendable {
    let names: [String]
    let takesValue: Bool
    let help: String
    let placeholder: String

    /// A flag that takes a value: `--bundle DIR`, `--bundle=DIR`, `-b DIR`.
    static func value(_ names: String..., placeholder: String = "value", help: String) -> FlagSpec {
        FlagSpec(names: names, takesValue: true, help: help, placeholder: placeholder)
    }

    /// A boolean flag: `--detach`, `-d`, `--detach=false`.
    static func bool(_ names: String..., help: String) -> FlagSpec {
        FlagSpec(names: names, takesValue: false, help: help, placeholder: "")
    }

    /// The key values are stored under: the first name without dashes.
    var key: String { String(names[0].drop(while: { $0 == "-" })) }
}

/// A command: its flags, its positional arguments and what it does with them.
///
/// skiff-runtime parses its command line by hand rather than with a reflection-based parser:
/// every container start runs it three or four times, and start latency is a feature.
struct CommandSpec: Sendable {
    let name: String
    var aliases: [String] = []
    let summary: String
    /// Positional arguments in usage form, e.g. "<container-id>".
    let usage: String
    var flags: [FlagSpec] = []
    /// Whether everything after the first positional argument belongs to it (exec, ps).
    var passthroughAfterFirstArgument = false
    let run: @Sendable (CommandContext) throws -> Int32
}

/// What the parser found: flag values by key, and positional arguments in order.
struct ParsedArguments {
    var values: [String: [String]] = [:]
    var positionals: [String] = []
    let command: String

    func string(_ key: String) -> String? { values[key]?.last }
    func strings(_ key: String) -> [String] { values[key] ?? [] }
    func flag(_ key: String) -> Bool { values[key]?.last.map { $0 != "false" } ?? false }

    func int(_ key: String) throws -> Int? {
        guard let text = string(key) else { return nil }
        guard let value = Int(text) else { throw UsageError("--\(key) wants a number, not '\(text)'", command: command) }
        return value
    }

    /// The positional argument at `index`, or a usage error naming it.
    func argument(_ index: Int, _ name: String) throws -> String {
        guard index < positionals.count, !positionals[index].isEmpty else {
            throw UsageError("missing \(name)", command: command)
        }
        return positionals[index]
    }

    /// The container id, and nothing else after it.
    func containerID() throws -> String {
        let id = try argument(0, "container id")
        if positionals.count > 1 {
            throw UsageError("unexpected argument '\(positionals[1])' after the container id", command: command)
        }
        return id
    }
}

/// A command line that does not fit the command: wrong flag, missing argument.
struct UsageError: Error, CustomStringConvertible {
    let message: String
    let command: String?
    init(_ message: String, command: String?) {
        self.message = message
        self.command = command
    }
    var description: String {
        let help = command.map { "skiff-runtime \($0) --help" } ?? "skiff-runtime --help"
        return "\(message): see '\(help)'"
    }
}

/// Parses runc-style command lines: global flags, the command, its flags and arguments.
/// Flags may be `--name value`, `--name=value`, `-n value` or a single-dash long form (`-bundle`),
/// as runc's urfave/cli accepts them; `--` ends the flags.
enum CommandLineParser {
    enum Outcome {
        case run(CommandSpec, ParsedArguments, GlobalOptions)
        case help(String)
        case version
    }

    static func parse(_ args: [String], commands: [CommandSpec]) throws -> Outcome {
        var globals = ParsedArguments(command: "")
        var index = 0
        // Global flags come before the command (and are accepted after it too).
        while index < args.count, args[index].hasPrefix("-"), args[index] != "-" {
            let arg = args[index]
            if arg == "--help" || arg == "-h" { return .help(Help.overview(commands)) }
            if arg == "--version" || arg == "-v" { return .version }
            guard try consume(args, &index, flags: GlobalOptions.flags, into: &globals) else {
                throw UsageError("unknown global flag '\(arg)'", command: nil)
            }
        }
        guard index < args.count else { return .help(Help.overview(commands)) }
        let name = args[index]
        index += 1
        if name == "help" {
            if index < args.count, let command = find(args[index], in: commands) { return .help(Help.command(command)) }
            return .help(Help.overview(commands))
        }
        guard let command = find(name, in: commands) else {
            throw UsageError("unknown command '\(name)'", command: nil)
        }
        var parsed = ParsedArguments(command: command.name)
        var flagsDone = false
        while index < args.count {
            let arg = args[index]
            if !flagsDone && (arg == "--help" || arg == "-h") { return .help(Help.command(command)) }
            if !flagsDone && arg == "--" {
                flagsDone = true
                index += 1
                continue
            }
            if !flagsDone && arg.hasPrefix("-") && arg != "-" {
                if try consume(args, &index, flags: command.flags, into: &parsed) { continue }
                if try consume(args, &index, flags: GlobalOptions.flags, into: &globals) { continue }
                throw UsageError("unknown flag '\(arg)' for '\(command.name)'", command: command.name)
            }
            parsed.positionals.append(arg)
            index += 1
            if command.passthroughAfterFirstArgument && parsed.positionals.count >= 1 { flagsDone = true }
        }
        return .run(command, parsed, try GlobalOptions(globals))
    }

    private static func find(_ name: String, in commands: [CommandSpec]) -> CommandSpec? {
        commands.first { $0.name == name || $0.aliases.contains(name) }
    }

    /// Consumes one flag (and its value) if it is one of `flags`; returns false otherwise.
    private static func consume(_ args: [String], _ index: inout Int, flags: [FlagSpec], into parsed: inout ParsedArguments) throws -> Bool
    {
        let arg = args[index]
        let (name, inlineValue): (String, String?) = {
            guard let eq = arg.firstIndex(of: "=") else { return (arg, nil) }
            return (String(arg[..<eq]), String(arg[arg.index(after: eq)...]))
        }()
        let bare = name.drop(while: { $0 == "-" })
        guard let flag = flags.first(where: { spec in spec.names.contains { $0 == name || $0.drop(while: { $0 == "-" }) == bare } }) else {
            return false
        }
        if flag.takesValue {
            if let inlineValue {
                parsed.values[flag.key, default: []].append(inlineValue)
                index += 1
            } else {
                guard index + 1 < args.count else {
                    throw UsageError("flag \(name) needs a value", command: parsed.command.isEmpty ? nil : parsed.command)
                }
                parsed.values[flag.key, default: []].append(args[index + 1])
                index += 2
            }
        } else {
            let value = inlineValue ?? "true"
            guard value == "true" || value == "false" else {
                throw UsageError("flag \(name) is true or false, not '\(value)'", command: parsed.command.isEmpty ? nil : parsed.command)
            }
            parsed.values[flag.key, default: []].append(value)
            index += 1
        }
        return true
    }
}

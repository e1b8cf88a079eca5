#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import ContainerRuntime
import Engine
import ImageStore

// The runtime library re-executes this binary as `skiff init` (with _SKIFF_INIT_FD) for a
// container's init stage: dispatch to it before anything else runs, as skiff-runtime does.
if CommandLine.arguments.count == 2, CommandLine.arguments[1] == "init",
    let fdText = getenv("_SKIFF_INIT_FD"), let fd = Int32(String(cString: fdText))
{
    ContainerInit.main(socket: fd)
}

// The options before the command (`skiff --root R ps`), as docker and podman take them.
let arguments: [String]
do {
    let globals = try GlobalOptions.extract(CommandLine.arguments)
    for (name, value) in globals.environment { setenv(name, value, 1) }
    if globals.showVersion {
        print(VersionCommand.line)
        exit(0)
    }
    arguments = globals.arguments
} catch {
    printEngineError("\(error)")
    exit(125)
}

// `skiff vm run` parses only its own options: building and walking the whole command tree (and
// hopping to the async executor) costs about 3 ms of CPU on every micro-VM start. Anything the
// short parse rejects, and help requests, go through the full tree, so messages and usage lines
// are the same as before; errors from the command itself end the way SkiffEntry ends them.
if arguments.count >= 3, arguments[1] == "vm", arguments[2] == "run",
    !arguments.contains(where: { ["-h", "--help", "-help"].contains($0) }),
    var command = try? VMRun.parseAsRoot(Array(arguments.dropFirst(3)))
{
    do {
        try command.run()
        Skiff.exit()
    } catch let code as ExitCode {
        exit(code.rawValue)  // what UsageErrors.exit ends in for it, without building a message
    } catch {
        UsageErrors.exit(for: error)
    }
}

// The hidden `skiff container-monitor` (every container start runs it) parses only its own
// options, for the same reason: the whole tree costs several milliseconds of CPU per start.
if arguments.count >= 2, arguments[1] == "container-monitor",
    let command = try? ContainerMonitorCommand.parseAsRoot(Array(arguments.dropFirst(2))) as? ContainerMonitorCommand
{
    do {
        try command.run()
        Skiff.exit()
    } catch {
        UsageErrors.exit(for: error)
    }
}

// A detached `exec -it` program's terminal holder (see Engine.holdTerminal).
if arguments.count == 2, arguments[1] == "exec-terminal-holder" {
    Engine.holdTerminal()
}

/// The async entry `@main` would have called (top-level code picks ParsableCommand's
/// synchronous `main`, which refuses async commands).
enum SkiffEntry {
    static func run(_ arguments: [String]) async {
        ImageStore.processCommand = commandPath(arguments)
        do {
            var command = try await parse(Array(arguments.dropFirst()))
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            UsageErrors.exit(for: error)
        }
    }
}

extension SkiffEntry {
    /// Parses the command line, taking docker's `--flag=true` and `--flag=false` for boolean
    /// flags (`--init=true`, `--tty=false`): ArgumentParser refuses a value for a flag and names
    /// the option in its error, so exactly that token is rewritten (`=true` to the flag, `=false`
    /// to nothing) and the line parsed again. Options that take a value are never touched.
    static func parse(_ arguments: [String]) async throws -> any ParsableCommand {
        var arguments = arguments
        for _ in 0..<arguments.count + 1 {
            do {
                return try await Skiff.asyncParseAsRoot(arguments)
            } catch {
                let message = Skiff.message(for: error)
                guard
                    let match = message.firstMatch(
                        of: /The option '(--[A-Za-z0-9-]+)' does not take any value, but '([^']*)' was specified/),
                    let index = arguments.firstIndex(of: "\(match.1)=\(match.2)")
                else { throw error }
                switch match.2.lowercased() {
                case "true", "1": arguments[index] = String(match.1)
                case "false", "0": arguments.remove(at: index)
                default: throw error
                }
            }
        }
        return try await Skiff.asyncParseAsRoot(arguments)
    }

    /// The subcommand words of `arguments` ("pull", "image prune"), for the store lock's holder
    /// record that another command waiting for the lock prints.
    static func commandPath(_ arguments: [String]) -> String {
        var words: [String] = []
        var candidates = Skiff.allSubcommands
        for argument in arguments.dropFirst() {
            guard
                let match = candidates.first(where: {
                    $0.configuration.commandName == argument || $0.configuration.aliases.contains(argument)
                })
            else { break }
            words.append(argument)
            candidates = match.configuration.subcommands
        }
        return words.isEmpty ? "skiff" : words.joined(separator: " ")
    }

    /// docker's answer to a command that does not exist (`skiff foo`, `skiff container foo`):
    /// "unknown command" and the nearest one, instead of ArgumentParser's "unexpected argument".
    /// nil when the words name commands all the way down.
    static func unknownCommand(_ arguments: [String]) -> String? {
        var words: [String] = []
        var candidates = Skiff.allSubcommands
        for argument in arguments.dropFirst() {
            guard !candidates.isEmpty, !argument.hasPrefix("-"), argument != "help" else { return nil }
            guard
                let match = candidates.first(where: {
                    $0.configuration.commandName == argument || $0.configuration.aliases.contains(argument)
                })
            else {
                let names = candidates.compactMap { $0.configuration.commandName }.filter { !$0.hasPrefix("container-monitor") }
                let nearest = names.min { editDistance($0, argument) < editDistance($1, argument) }
                let prefix = (["skiff"] + words).joined(separator: " ")
                var message = "unknown command: \"\(prefix) \(argument)\""
                if let nearest, editDistance(nearest, argument) <= max(1, argument.count / 3) {
                    message += "\n\nDid you mean this?\n\t\(nearest)"
                }
                return message + "\n\nRun '\(prefix) --help' for more information"
            }
            words.append(argument)
            candidates = match.configuration.subcommands
        }
        return nil
    }

    /// Levenshtein distance, for the suggestion above.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var previous = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...max(b.count, 1) where !b.isEmpty {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}

if let message = SkiffEntry.unknownCommand(arguments) {
    printEngineError(message)
    exit(1)
}

await SkiffEntry.run(arguments)

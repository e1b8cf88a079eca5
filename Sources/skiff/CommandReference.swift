#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import LinuxSupport

/// The command reference, generated from the command definitions so that it cannot drift: the
/// help screens (ArgumentParser's, at a fixed width) with each command's examples, as
/// docs/cli.md and as man pages. `skiff help CMD` and `CMD --help` end with the same examples.
enum CommandReference {
    struct Entry {
        /// The words after `skiff` ("container", "ls").
        let path: [String]
        let type: any ParsableCommand.Type
        /// Where this command type was first listed, when `path` is another spelling of it
        /// (`container run` of `run`).
        let sameAs: [String]?
        var isGroup: Bool { !type.configuration.subcommands.isEmpty }
        var name: String { (["skiff"] + path).joined(separator: " ") }
    }

    static let columns = 100

    /// Every command `skiff --help` shows, depth first in its order.
    static func entries() -> [Entry] {
        var entries: [Entry] = []
        var first: [ObjectIdentifier: [String]] = [:]
        func walk(_ type: any ParsableCommand.Type, _ path: [String]) {
            for sub in type.configuration.subcommands where sub.configuration.shouldDisplay {
                let subPath = path + [sub.configuration.commandName ?? String(describing: sub).lowercased()]
                let key = ObjectIdentifier(sub)
                entries.append(Entry(path: subPath, type: sub, sameAs: first[key]))
                if first[key] == nil {
                    first[key] = subPath
                    walk(sub, subPath)
                }
            }
        }
        walk(Skiff.self, [])
        return entries
    }

    /// The command `arguments` (after the global options, `help` dropped) names: the deepest
    /// subcommand its leading words spell.
    static func command(for arguments: [String]) -> (any ParsableCommand.Type)? {
        var words = arguments
        if words.first == "help" { words.removeFirst() }
        var current: any ParsableCommand.Type = Skiff.self
        var found: (any ParsableCommand.Type)?
        for word in words {
            guard
                let next = current.configuration.subcommands.first(where: {
                    $0.configuration.commandName == word || $0.configuration.aliases.contains(word)
                })
            else { break }
            current = next
            found = next
        }
        return found
    }

    /// "EXAMPLES:" and the command's examples, or nothing for a command without any.
    static func examplesSection(_ type: any ParsableCommand.Type) -> String {
        guard let examples = (type as? any CommandWithExamples.Type)?.examples, !examples.isEmpty else { return "" }
        return "\nEXAMPLES:\n" + examples.map { "  " + $0 }.joined(separator: "\n") + "\n"
    }

    /// A help screen as `--help` shows it, with the examples at its end.
    static func help(_ type: any ParsableCommand.Type) -> String {
        let screen =
            ObjectIdentifier(type) == ObjectIdentifier(Skiff.self)
            ? Skiff.helpMessage(includeHidden: false, columns: columns)
            : Skiff.helpMessage(for: type, includeHidden: false, columns: columns)
        return appendingExamples(to: screen, of: type)
    }

    /// `screen` (a help screen) with the examples of `type` at its end.
    static func appendingExamples(to screen: String, of type: any ParsableCommand.Type) -> String {
        screen.trimmingTrailingNewlines() + "\n" + examplesSection(type)
    }

    /// What is wrong with the examples: a command without two or three of them, or an example
    /// the command line does not parse.
    static func problems() -> [String] {
        var problems: [String] = []
        for entry in entries() where entry.sameAs == nil && !entry.isGroup {
            let examples = (entry.type as? any CommandWithExamples.Type)?.examples ?? []
            if !(2...3).contains(examples.count) {
                problems.append("\(entry.name): has \(examples.count) examples, needs 2 or 3 (Sources/skiff/CommandExamples.swift)")
            }
            for example in examples {
                let words = commandWords(example)
                guard words.first == "skiff" else {
                    problems.append("\(entry.name): example does not start with skiff: \(example)")
                    continue
                }
                do {
                    let globals = try GlobalOptions.extract(words)
                    let parsed = try Skiff.parseAsRoot(Array(globals.arguments.dropFirst()))
                    if ObjectIdentifier(type(of: parsed)) != ObjectIdentifier(entry.type) {
                        problems.append("\(entry.name): example runs \(type(of: parsed)) instead: \(example)")
                    }
                } catch {
                    problems.append("\(entry.name): example does not parse (\(Skiff.message(for: error))): \(example)")
                }
            }
        }
        return problems
    }

    /// The words of the command an example runs, as a POSIX shell splits them (single and double
    /// quotes, backslash escapes), up to the first redirection, pipe or list operator.
    static func commandWords(_ line: String) -> [String] {
        var words: [String] = []
        var word = ""
        var inWord = false
        var quote: Character?
        var escaped = false
        for character in line {
            if escaped {
                word.append(character)
                escaped = false
                continue
            }
            if let open = quote {
                if character == open {
                    quote = nil
                } else if character == "\\" && open == "\"" {
                    escaped = true
                } else {
                    word.append(character)
                }
                continue
            }
            switch character {
            case "'", "\"":
                quote = character
                inWord = true
            case "\\":
                escaped = true
                inWord = true
            case " ", "\t":
                if inWord { words.append(word) }
                word = ""
                inWord = false
            case "|", ">", "<", ";", "&":
                if inWord { words.append(word) }
                return words
            default:
                word.append(character)
                inWord = true
            }
        }
        if inWord { words.append(word) }
        return words
    }

    /// docs/cli.md.
    static func markdown() -> String {
        let entries = entries()
        var text = """
            # Command reference

            Generated from skiff's command definitions by `skiff generate-docs --markdown docs/cli.md`; the tests
            fail when this file and the commands differ. The same text is `skiff help COMMAND`, `skiff COMMAND
            --help` and `man skiff-COMMAND` (`scripts/demo.sh` installs the man pages). What each command does
            differently from docker's is in [docker-compatibility.md](docker-compatibility.md).

            ## Commands


            """
        for entry in entries {
            let indent = String(repeating: "  ", count: entry.path.count - 1)
            text += "\(indent)- [`\(entry.name)`](#\(anchor(entry))): \(entry.type.configuration.abstract)\n"
        }
        text += "\n## skiff\n\n```text\n\(help(Skiff.self))```\n"
        for entry in entries {
            text += "\n## \(entry.name)\n\n"
            if let sameAs = entry.sameAs {
                let original = "skiff " + sameAs.joined(separator: " ")
                text += "The same command as [`\(original)`](#\(original.replacingOccurrences(of: " ", with: "-"))).\n"
            } else {
                text += "```text\n\(help(entry.type))```\n"
            }
        }
        return text
    }

    static func anchor(_ entry: Entry) -> String { entry.name.replacingOccurrences(of: " ", with: "-") }

    /// One man page per command (skiff.1, skiff-run.1, skiff-container-ls.1, ...): the help
    /// screen with its examples, preformatted.
    static func manPages() -> [(file: String, text: String)] {
        var pages = [(file: "skiff.1", text: manPage(name: "skiff", type: Skiff.self))]
        for entry in entries() {
            let name = (["skiff"] + entry.path).joined(separator: "-")
            pages.append((file: name + ".1", text: manPage(name: name, type: entry.type)))
        }
        return pages
    }

    static func manPage(name: String, type: any ParsableCommand.Type) -> String {
        let escaped = help(type).split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            let text = line.replacingOccurrences(of: "\\", with: "\\e")
            return text.hasPrefix(".") || text.hasPrefix("'") ? "\\&" + text : text
        }
        return """
            .TH \(name.uppercased()) 1 "" "skiff" "skiff manual"
            .SH NAME
            \(name) \\- \(type.configuration.abstract.replacingOccurrences(of: "\\", with: "\\e"))
            .SH DESCRIPTION
            .nf
            \(escaped.joined(separator: "\n"))
            .fi
            .SH SEE ALSO
            skiff(1); docs/cli.md in skiff's source tree

            """
    }
}

extension String {
    fileprivate func trimmingTrailingNewlines() -> String {
        var text = self
        while text.hasSuffix("\n") { text.removeLast() }
        return text
    }
}

/// `skiff generate-docs`: writes docs/cli.md and the man pages from the command definitions, and
/// with `--check` verifies every command's examples. Hidden: for the set-up and the tests.
struct GenerateDocsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate-docs", abstract: "Write the command reference (markdown, man pages) from the commands.",
        shouldDisplay: false)

    @Option(help: "Write the markdown reference to FILE (docs/cli.md).") var markdown: String?
    @Option(help: "Write one man page per command into DIRECTORY (share/man/man1).") var man: String?
    @Flag(help: "Check that every command has two or three examples that parse; exit 1 naming those that do not.")
    var check = false

    func run() throws {
        // The options' defaults shown in the help follow the environment ($SKIFF_ROOT, ...): the
        // reference shows the built-in ones, whatever the environment of whoever generates it.
        for name in ["SKIFF_ROOT", "SKIFF_RUNTIME_ROOT", "SKIFF_DEFAULT_REGISTRY", "SKIFF_LOG_LEVEL", "SKIFF_STORE", "COLUMNS"] {
            unsetenv(name)
        }
        if check {
            let problems = CommandReference.problems()
            if !problems.isEmpty {
                printEngineError(problems.joined(separator: "\n"))
                throw ExitCode(1)
            }
        }
        if let markdown {
            try FileIO.writeAtomically(markdown, Array(CommandReference.markdown().utf8), mode: 0o644, durable: false)
        }
        if let man {
            try FileIO.makeDirectories(man, mode: 0o755)
            for page in CommandReference.manPages() {
                try FileIO.writeAtomically(man + "/" + page.file, Array(page.text.utf8), mode: 0o644, durable: false)
            }
        }
    }
}

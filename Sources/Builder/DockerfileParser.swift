import JSON
import LinuxSupport

/// Parses a Dockerfile as docker's reference describes it: parser directives (`# escape`,
/// `# syntax` noted and ignored, `# check`), comments, line continuations, heredocs on RUN, COPY
/// and ADD, the exec (JSON) and shell forms, flags, and every instruction. Errors name the file,
/// line and column. Variables are not expanded here (see `Instructions.swift`).
public struct DockerfileParser {
    public var file: String

    public init(file: String = "Dockerfile") {
        self.file = file
    }

    /// A logical line: physical lines joined at continuations, with where each piece began.
    struct LogicalLine {
        var characters: [Character] = []
        /// (offset in `characters`, physical line, column of that offset), in order.
        var segments: [(offset: Int, line: Int, column: Int)] = []
        var heredocs: [Heredoc] = []

        func position(_ offset: Int) -> (line: Int, column: Int) {
            var best = segments.first ?? (0, 1, 1)
            for segment in segments where segment.offset <= offset { best = segment }
            return (best.line, best.column + (offset - best.offset))
        }
    }

    public func parse(_ text: String) throws(DockerfileError) -> Dockerfile {
        // "\r\n" is one Character in Swift, so it is a separator of its own.
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).map { line -> Substring in
            line.hasSuffix("\r") ? line.dropLast() : line
        }
        if lines.last == "" { lines.removeLast() }
        if let first = lines.first, first.hasPrefix("\u{FEFF}") { lines[0] = first.dropFirst() }

        // Parser directives: only at the very top, each at most once.
        var escape: Character = "\\"
        var notes: [String] = []
        var seen: Set<String> = []
        var index = 0
        while index < lines.count, let (key, value) = directive(lines[index]) {
            if key == "escape" || key == "syntax" || key == "check" {
                guard seen.insert(key).inserted else {
                    throw DockerfileError("only one \(key) parser directive can be used", at: location(index + 1, 1))
                }
                if key == "escape" {
                    guard value == "\\" || value == "`" else {
                        throw DockerfileError(
                            "invalid escape token '\(value)' does not validate: it must be \\ or `", at: location(index + 1, 1))
                    }
                    escape = Character(value)
                } else if key == "syntax" {
                    notes.append("the syntax directive (\(value)) is ignored: skiff builds with its own Dockerfile frontend")
                }
            }
            index += 1
        }

        var globalArgs: [ArgDefinition] = []
        var stages: [Stage] = []
        while index < lines.count {
            let trimmed = lines[index].drop { $0 == " " || $0 == "\t" }
            if trimmed.isEmpty || trimmed.hasPrefix("#") {
                index += 1
                continue
            }
            var line = LogicalLine()
            let firstColumn = lines[index].count - trimmed.count + 1
            var piece = trimmed
            var physical = index
            var column = firstColumn
            while true {
                let (body, continues) = continuation(piece, escape: escape)
                line.segments.append((line.characters.count, physical + 1, column))
                line.characters.append(contentsOf: body)
                index = physical + 1
                guard continues else { break }
                // The next line that is neither blank nor a comment goes on this one.
                var next = physical + 1
                while next < lines.count {
                    let candidate = lines[next].drop { $0 == " " || $0 == "\t" }
                    if candidate.isEmpty || candidate.hasPrefix("#") {
                        next += 1
                        continue
                    }
                    break
                }
                guard next < lines.count else {
                    index = next
                    break
                }
                physical = next
                piece = lines[next][...]
                column = 1
            }
            let instructionLocation = location(line.segments[0].line, line.segments[0].column)
            let keywordWords = splitWords(line.characters, escape: escape)
            let keyword = keywordWords.first?.text.lowercased() ?? ""
            if keyword == "run" || keyword == "copy" || keyword == "add" {
                line.heredocs = try readHeredocs(&line, lines: lines, index: &index, escape: escape)
            }
            let parsed = try instruction(line, escape: escape, at: instructionLocation)
            if case .from(let from) = parsed.instruction {
                if let name = from.stageName, stages.contains(where: { $0.name == name }) {
                    throw DockerfileError("duplicate stage name \"\(name)\"", at: instructionLocation)
                }
                stages.append(
                    Stage(index: stages.count, from: from, location: instructionLocation, fromText: parsed.text, instructions: []))
            } else if stages.isEmpty {
                guard case .arg(let args) = parsed.instruction else {
                    throw DockerfileError(
                        "\(keyword.uppercased()) before the first FROM: a Dockerfile must begin with FROM (only ARG and parser directives may come before it)",
                        at: instructionLocation)
                }
                globalArgs += args
            } else {
                stages[stages.count - 1].instructions.append(parsed)
            }
        }
        guard !stages.isEmpty else {
            throw DockerfileError("the Dockerfile has no FROM: nothing to build", at: location(max(lines.count, 1), 1))
        }
        return Dockerfile(escape: escape, notes: notes, globalArgs: globalArgs, stages: stages)
    }

    private func location(_ line: Int, _ column: Int) -> SourceLocation {
        SourceLocation(file: file, line: line, column: column)
    }

    /// `# key=value` with a known-looking key, or nil when directives are over.
    private func directive(_ line: Substring) -> (String, String)? {
        var rest = line.drop { $0 == " " || $0 == "\t" }
        guard rest.hasPrefix("#") else { return nil }
        rest = rest.dropFirst().drop { $0 == " " || $0 == "\t" }
        let key = rest.prefix { $0.isASCII && ($0.isLetter || $0.isNumber) }
        guard let first = key.first, first.isLetter else { return nil }
        rest = rest.dropFirst(key.count).drop { $0 == " " || $0 == "\t" }
        guard rest.hasPrefix("=") else { return nil }
        let value = rest.dropFirst().trimmed
        guard !value.isEmpty else { return nil }
        return (key.lowercased(), String(value))
    }

    /// The line without its continuation escape, and whether there was one (the escape
    /// character as the last non-blank character).
    private func continuation(_ line: Substring, escape: Character) -> (Substring, Bool) {
        var end = line.endIndex
        while end > line.startIndex, line[line.index(before: end)] == " " || line[line.index(before: end)] == "\t" {
            end = line.index(before: end)
        }
        guard end > line.startIndex, line[line.index(before: end)] == escape else { return (line, false) }
        return (line[line.startIndex..<line.index(before: end)], true)
    }

    /// The heredocs a RUN/COPY/ADD line opens, with their bodies read from the lines after it.
    private func readHeredocs(
        _ line: inout LogicalLine, lines: [Substring], index: inout Int, escape: Character
    ) throws(DockerfileError) -> [Heredoc] {
        var heredocs: [Heredoc] = []
        for word in splitWords(line.characters, escape: escape).dropFirst() {
            guard let marker = heredocMarker(word.text) else { continue }
            let start = line.position(word.start)
            var content = ""
            var terminated = false
            while index < lines.count {
                let body = lines[index]
                index += 1
                let candidate = marker.stripsTabs ? body.drop { $0 == "\t" } : body
                if candidate == marker.name {
                    terminated = true
                    break
                }
                content += candidate + "\n"
            }
            guard terminated else {
                throw DockerfileError("unterminated heredoc: no line \"\(marker.name)\" ends it", at: location(start.line, start.column))
            }
            heredocs.append(Heredoc(name: marker.name, content: content, expands: marker.expands, stripsTabs: marker.stripsTabs))
        }
        return heredocs
    }

    /// `<<NAME`, `<<-NAME`, `<<"NAME"`, `<<'NAME'` (with an optional descriptor number before).
    func heredocMarker(_ word: String) -> (name: String, expands: Bool, stripsTabs: Bool)? {
        var rest = Substring(word).drop { $0.isASCII && $0.isNumber }
        guard rest.hasPrefix("<<") else { return nil }
        rest = rest.dropFirst(2)
        let stripsTabs = rest.hasPrefix("-")
        if stripsTabs { rest = rest.dropFirst() }
        guard !rest.isEmpty, !rest.contains("<") else { return nil }
        var expands = true
        if let first = rest.first, first == "\"" || first == "'" {
            guard rest.count >= 2, rest.last == first else { return nil }
            rest = rest.dropFirst().dropLast()
            expands = false
        }
        guard !rest.isEmpty, rest.allSatisfy({ !$0.isWhitespace && $0 != "\"" && $0 != "'" }) else { return nil }
        return (String(rest), expands, stripsTabs)
    }

    // MARK: - Instructions

    struct Flag {
        var name: String
        var value: String?
        var location: SourceLocation
    }

    /// What an instruction line says, after its keyword.
    struct Arguments {
        var flags: [Flag]
        /// The text after the keyword and flags, trimmed.
        var rest: String
        var restOffset: Int
        var line: LogicalLine
        var escape: Character
    }

    private static let allowedFlags: [String: Set<String>] = [
        "from": ["platform"],
        "run": ["mount", "network", "security"],
        "copy": ["from", "chown", "chmod", "link", "parents", "exclude"],
        "add": ["chown", "chmod", "link", "checksum", "keep-git-dir", "exclude"],
        "healthcheck": ["interval", "timeout", "start-period", "start-interval", "retries"],
    ]

    private func instruction(_ line: LogicalLine, escape: Character, at start: SourceLocation) throws(DockerfileError) -> ParsedInstruction
    {
        let words = splitWords(line.characters, escape: escape)
        guard let keywordWord = words.first else { throw DockerfileError("empty instruction", at: start) }
        let keyword = keywordWord.text.lowercased()
        var flags: [Flag] = []
        var restOffset = keywordWord.end
        for word in words.dropFirst() {
            guard word.text.hasPrefix("--") else { break }
            let position = line.position(word.start)
            let body = word.text.dropFirst(2)
            if body.isEmpty { break }
            let name = body.prefix { $0 != "=" }
            let value = body.count > name.count ? String(body.dropFirst(name.count + 1)) : nil
            guard Self.allowedFlags[keyword]?.contains(String(name)) == true else {
                throw DockerfileError("unknown flag: --\(name) for \(keyword.uppercased())", at: location(position.line, position.column))
            }
            flags.append(Flag(name: String(name), value: value, location: location(position.line, position.column)))
            restOffset = word.end
        }
        while restOffset < line.characters.count, line.characters[restOffset] == " " || line.characters[restOffset] == "\t" {
            restOffset += 1
        }
        var rest = String(line.characters[restOffset...])
        while let last = rest.last, last == " " || last == "\t" { rest.removeLast() }
        let arguments = Arguments(flags: flags, rest: rest, restOffset: restOffset, line: line, escape: escape)
        let text = String(line.characters).trimmed
        return ParsedInstruction(instruction: try build(keyword, arguments, at: start), location: start, text: String(text))
    }

    private func restLocation(_ arguments: Arguments) -> SourceLocation {
        let position = arguments.line.position(arguments.restOffset)
        return location(position.line, position.column)
    }

    private func build(_ keyword: String, _ arguments: Arguments, at start: SourceLocation) throws(DockerfileError) -> Instruction {
        let rest = arguments.rest
        let here = restLocation(arguments)
        func requireArguments() throws(DockerfileError) {
            guard !rest.isEmpty else { throw DockerfileError("\(keyword.uppercased()) requires at least one argument", at: start) }
        }
        switch keyword {
        case "from":
            try requireArguments()
            let words = splitWords(Array(rest), escape: arguments.escape).map(\.text)
            var from = FromInstruction(image: words[0], stageName: nil, platform: try flagValue("platform", arguments))
            if words.count == 3, words[1].lowercased() == "as" {
                let name = words[2].lowercased()
                guard isStageName(name) else {
                    throw DockerfileError(
                        "invalid name for build stage: \"\(words[2])\", name can't start with a number or contain symbols", at: here)
                }
                from.stageName = name
            } else if words.count != 1 {
                throw DockerfileError("FROM requires either one argument, or three: FROM <source> [AS <name>]", at: here)
            }
            return .from(from)
        case "run":
            try requireArguments()
            var mounts: [RunMount] = []
            var network: String?
            var security: String?
            for flag in arguments.flags {
                switch flag.name {
                case "mount": mounts.append(try mount(flag))
                case "network":
                    guard let value = flag.value, ["default", "none", "host"].contains(value) else {
                        throw DockerfileError("--network must be default, none or host, not \"\(flag.value ?? "")\"", at: flag.location)
                    }
                    network = value
                default:
                    guard let value = flag.value, ["sandbox", "insecure"].contains(value) else {
                        throw DockerfileError("--security must be sandbox or insecure, not \"\(flag.value ?? "")\"", at: flag.location)
                    }
                    security = value
                }
            }
            let command: CommandForm =
                arguments.line.heredocs.isEmpty ? try commandForm(rest, at: here) : .shell(rest)
            return .run(
                RunInstruction(command: command, heredocs: arguments.line.heredocs, mounts: mounts, network: network, security: security))
        case "copy", "add":
            return .copy(try copy(keyword == "add", arguments, at: start))
        case "env", "label":
            let pairs = try keyValues(keyword, arguments, at: here)
            return keyword == "env" ? .env(pairs) : .label(pairs)
        case "arg":
            try requireArguments()
            var definitions: [ArgDefinition] = []
            for word in splitWords(Array(rest), escape: arguments.escape) {
                let name = word.text.prefix { $0 != "=" }
                guard !name.isEmpty else { throw DockerfileError("ARG names can not be blank", at: here) }
                let value = word.text.count > name.count ? String(word.text.dropFirst(name.count + 1)) : nil
                definitions.append(ArgDefinition(name: String(name), defaultValue: value))
            }
            return .arg(definitions)
        case "workdir", "user", "stopsignal":
            try requireArguments()
            if keyword == "stopsignal", splitWords(Array(rest), escape: arguments.escape).count != 1 {
                throw DockerfileError("STOPSIGNAL requires exactly one argument", at: here)
            }
            return keyword == "workdir" ? .workdir(rest) : keyword == "user" ? .user(rest) : .stopSignal(rest)
        case "expose":
            try requireArguments()
            return .expose(splitWords(Array(rest), escape: arguments.escape).map(\.text))
        case "volume":
            try requireArguments()
            if let list = try jsonList(rest, at: here) {
                guard !list.isEmpty else { throw DockerfileError("VOLUME specified can not be an empty string", at: here) }
                return .volume(list)
            }
            return .volume(splitWords(Array(rest), escape: arguments.escape).map(\.text))
        case "cmd", "entrypoint":
            let form = try commandForm(rest, at: here)
            return keyword == "cmd" ? .cmd(form) : .entrypoint(form)
        case "shell":
            guard let list = try jsonList(rest, at: here), !list.isEmpty else {
                throw DockerfileError("SHELL requires the arguments to be in JSON form, such as SHELL [\"/bin/sh\", \"-c\"]", at: here)
            }
            return .shell(list)
        case "healthcheck":
            return .healthcheck(try healthcheck(arguments, at: here))
        case "onbuild":
            try requireArguments()
            let trigger = splitWords(Array(rest), escape: arguments.escape).first?.text.lowercased() ?? ""
            guard !["onbuild", "from", "maintainer"].contains(trigger) else {
                throw DockerfileError("\(trigger.uppercased()) isn't allowed as an ONBUILD trigger", at: here)
            }
            var inner = LogicalLine()
            inner.characters = Array(rest)
            inner.segments = [(0, here.line, here.column)]
            let parsed = try instruction(inner, escape: arguments.escape, at: here)
            return .onbuild(trigger: rest, parsed.instruction)
        case "maintainer":
            try requireArguments()
            return .maintainer(rest)
        default:
            throw DockerfileError(
                "unknown instruction: \(keyword.uppercased()) (FROM, RUN, COPY, ADD, ENV, ARG, WORKDIR, USER, EXPOSE, VOLUME, LABEL, CMD, ENTRYPOINT, SHELL, STOPSIGNAL, HEALTHCHECK, ONBUILD, MAINTAINER)",
                at: start)
        }
    }

    private func isStageName(_ name: String) -> Bool {
        guard let first = name.first, first.isASCII, first.isLetter else { return false }
        return name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") }
    }

    private func flagValue(_ name: String, _ arguments: Arguments) throws(DockerfileError) -> String? {
        let matching = arguments.flags.filter { $0.name == name }
        guard let flag = matching.last else { return nil }
        guard matching.count == 1 else { throw DockerfileError("duplicate flag specified: --\(name)", at: flag.location) }
        guard let value = flag.value, !value.isEmpty else { throw DockerfileError("missing a value on flag: --\(name)", at: flag.location) }
        return value
    }

    private func boolFlag(_ name: String, _ arguments: Arguments) throws(DockerfileError) -> Bool {
        guard let flag = arguments.flags.last(where: { $0.name == name }) else { return false }
        switch flag.value?.lowercased() {
        case nil, "true": return true
        case "false": return false
        default: throw DockerfileError("expecting boolean value for flag --\(name), not \"\(flag.value ?? "")\"", at: flag.location)
        }
    }

    /// A JSON array of strings, nil when the text is not one (then it is the shell form).
    private func jsonList(_ text: String, at here: SourceLocation) throws(DockerfileError) -> [String]? {
        guard text.hasPrefix("[") else { return nil }
        guard case .array(let items)? = try? JSONValue.parse(Array(text.utf8)) else { return nil }
        var strings: [String] = []
        for item in items {
            guard case .string(let value) = item else { return nil }
            strings.append(value)
        }
        return strings
    }

    private func commandForm(_ text: String, at here: SourceLocation) throws(DockerfileError) -> CommandForm {
        if let list = try jsonList(text, at: here) { return .exec(list) }
        return .shell(text)
    }

    private func mount(_ flag: Flag) throws(DockerfileError) -> RunMount {
        guard let value = flag.value, !value.isEmpty else {
            throw DockerfileError("--mount needs a value such as type=cache,target=/path", at: flag.location)
        }
        var options: [String: String] = [:]
        var readOnly: Bool?
        for field in value.split(separator: ",") {
            let key = field.prefix { $0 != "=" }.lowercased()
            let fieldValue = field.count > key.count ? String(field.dropFirst(key.count + 1)) : nil
            switch key {
            case "readonly", "ro":
                readOnly = fieldValue.map { $0.lowercased() != "false" } ?? true
            case "rw", "readwrite":
                readOnly = !(fieldValue.map { $0.lowercased() != "false" } ?? true)
            case "dst", "destination": options["target"] = fieldValue ?? ""
            case "src": options["source"] = fieldValue ?? ""
            case "type", "target", "source", "from", "id", "sharing", "mode", "uid", "gid", "required", "size", "env":
                guard let fieldValue else { throw DockerfileError("--mount option \(key) needs a value", at: flag.location) }
                options[key] = fieldValue
            default:
                throw DockerfileError("unexpected key '\(key)' in '\(field)' of --mount", at: flag.location)
            }
        }
        let typeName = options.removeValue(forKey: "type") ?? "bind"
        guard let kind = RunMount.Kind(rawValue: typeName) else {
            throw DockerfileError("unsupported mount type \"\(typeName)\": bind, cache, tmpfs, secret or ssh", at: flag.location)
        }
        if kind != .secret, kind != .ssh, (options["target"] ?? "").isEmpty {
            throw DockerfileError("--mount type=\(typeName) needs a target", at: flag.location)
        }
        if let sharing = options["sharing"], !["shared", "private", "locked"].contains(sharing) {
            throw DockerfileError("unsupported sharing value \"\(sharing)\": shared, private or locked", at: flag.location)
        }
        return RunMount(
            kind: kind, target: options.removeValue(forKey: "target"), source: options.removeValue(forKey: "source"),
            from: options.removeValue(forKey: "from"), id: options.removeValue(forKey: "id"),
            readOnly: readOnly ?? (kind == .bind || kind == .secret || kind == .ssh), options: options)
    }

    private func copy(_ isAdd: Bool, _ arguments: Arguments, at start: SourceLocation) throws(DockerfileError) -> CopyInstruction {
        let here = restLocation(arguments)
        let words = try jsonList(arguments.rest, at: here) ?? splitWords(Array(arguments.rest), escape: arguments.escape).map(\.text)
        let name = isAdd ? "ADD" : "COPY"
        guard words.count >= 2 else {
            throw DockerfileError("\(name) requires at least two arguments: a source and a destination", at: start)
        }
        var heredocs = arguments.line.heredocs[...]
        var sources: [CopySource] = []
        for word in words.dropLast() {
            if heredocMarker(word) != nil, let heredoc = heredocs.popFirst() {
                sources.append(.heredoc(heredoc))
            } else {
                sources.append(.path(word))
            }
        }
        let excludes = arguments.flags.filter { $0.name == "exclude" }.compactMap(\.value)
        return CopyInstruction(
            isAdd: isAdd, sources: sources, destination: words[words.count - 1], from: try flagValue("from", arguments),
            chown: try flagValue("chown", arguments), chmod: try flagValue("chmod", arguments), link: try boolFlag("link", arguments),
            parents: try boolFlag("parents", arguments), excludes: excludes, checksum: try flagValue("checksum", arguments),
            keepGitDir: try boolFlag("keep-git-dir", arguments))
    }

    private func keyValues(_ keyword: String, _ arguments: Arguments, at here: SourceLocation) throws(DockerfileError) -> [KeyValue] {
        let words = splitWords(Array(arguments.rest), escape: arguments.escape)
        guard let first = words.first else { throw DockerfileError("\(keyword.uppercased()) requires at least one argument", at: here) }
        guard first.text.contains("=") else {
            // The older `ENV NAME VALUE`: the value is the rest of the line.
            guard words.count >= 2 else { throw DockerfileError("\(keyword.uppercased()) must have two arguments", at: here) }
            let value = String(Array(arguments.rest)[words[1].start...])
            return [KeyValue(key: first.text, value: value)]
        }
        var pairs: [KeyValue] = []
        for word in words {
            guard let equals = word.text.firstIndex(of: "=") else {
                throw DockerfileError(
                    "syntax error - can't find = in \"\(word.text)\". Must be of the form: name=value", at: here)
            }
            let key = String(word.text[..<equals])
            guard !key.isEmpty else { throw DockerfileError("\(keyword.uppercased()) names can not be blank", at: here) }
            pairs.append(KeyValue(key: key, value: String(word.text[word.text.index(after: equals)...])))
        }
        return pairs
    }

    private func healthcheck(_ arguments: Arguments, at here: SourceLocation) throws(DockerfileError) -> HealthcheckInstruction {
        let words = splitWords(Array(arguments.rest), escape: arguments.escape)
        guard let first = words.first else { throw DockerfileError("HEALTHCHECK requires an argument: NONE or CMD", at: here) }
        switch first.text.uppercased() {
        case "NONE":
            guard words.count == 1, arguments.flags.isEmpty else {
                throw DockerfileError("HEALTHCHECK NONE takes no other arguments", at: here)
            }
            return .disabled
        case "CMD":
            let commandText = String(Array(arguments.rest)[first.end...]).trimmed
            guard !commandText.isEmpty else { throw DockerfileError("HEALTHCHECK CMD needs a command", at: here) }
            let form = try commandForm(String(commandText), at: here)
            func duration(_ name: String) throws(DockerfileError) -> Int64? {
                guard let text = try flagValue(name, arguments) else { return nil }
                guard let seconds = GoDuration.seconds(text), seconds >= 0 else {
                    throw DockerfileError("--\(name) must be a duration such as 30s or 1m30s, not \"\(text)\"", at: here)
                }
                if seconds > 0, seconds < 0.001 {
                    throw DockerfileError("--\(name) cannot be less than 1ms", at: here)
                }
                return Int64(seconds * 1e9)
            }
            var retries: Int?
            if let text = try flagValue("retries", arguments) {
                guard let value = Int(text), value >= 0 else {
                    throw DockerfileError("--retries must be a whole number of at least 0, not \"\(text)\"", at: here)
                }
                retries = value
            }
            let test: CommandForm = form
            return .check(
                test: test, interval: try duration("interval"), timeout: try duration("timeout"), startPeriod: try duration("start-period"),
                startInterval: try duration("start-interval"), retries: retries)
        default:
            throw DockerfileError("HEALTHCHECK takes NONE or CMD, not \"\(first.text)\"", at: here)
        }
    }
}

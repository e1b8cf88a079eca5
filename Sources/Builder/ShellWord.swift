/// Docker's shell-like word processing for Dockerfile arguments: quote removal, the escape
/// character, and `$NAME`, `${NAME}`, `${NAME:-word}`, `${NAME-word}`, `${NAME:+word}`,
/// `${NAME+word}`, `${NAME:?message}`, `${NAME?message}`. Nothing runs: there is no command
/// substitution, globbing or arithmetic, as in docker.
public struct ShellWord {
    public let escape: Character
    public let lookup: (String) -> String?

    public init(escape: Character = "\\", lookup: @escaping (String) -> String?) {
        self.escape = escape
        self.lookup = lookup
    }

    /// One word with quotes removed and variables expanded (unset ones are empty).
    public func process(_ text: String) throws(DockerfileError) -> String {
        var scanner = Scanner(characters: Array(text))
        let (result, _) = try processUntil(nil, &scanner)
        return result
    }

    /// A heredoc's body (or any text where quotes are not special): only `$` expansion and
    /// the escape of `$`.
    public func expandVariables(_ text: String) throws(DockerfileError) -> String {
        var scanner = Scanner(characters: Array(text))
        var result = ""
        while let ch = scanner.peek() {
            if ch == escape, scanner.peek(1) == "$" {
                result.append("$")
                scanner.index += 2
            } else if ch == "$" {
                result += try dollar(&scanner)
            } else {
                result.append(ch)
                scanner.index += 1
            }
        }
        return result
    }

    struct Scanner {
        var characters: [Character]
        var index = 0

        func peek(_ ahead: Int = 0) -> Character? {
            index + ahead < characters.count ? characters[index + ahead] : nil
        }
    }

    /// Processes up to `stop` (consumed) or the end; says whether `stop` was met.
    private func processUntil(_ stop: Character?, _ scanner: inout Scanner) throws(DockerfileError) -> (String, Bool) {
        var result = ""
        while let ch = scanner.peek() {
            if let stop, ch == stop {
                scanner.index += 1
                return (result, true)
            }
            switch ch {
            case "'":
                scanner.index += 1
                while true {
                    guard let inner = scanner.peek() else {
                        throw DockerfileError("unexpected end of statement while looking for matching single-quote")
                    }
                    scanner.index += 1
                    if inner == "'" { break }
                    result.append(inner)
                }
            case "\"":
                scanner.index += 1
                while true {
                    guard let inner = scanner.peek() else {
                        throw DockerfileError("unexpected end of statement while looking for matching double-quote")
                    }
                    if inner == "\"" {
                        scanner.index += 1
                        break
                    }
                    if inner == "$" {
                        result += try dollar(&scanner)
                        continue
                    }
                    if inner == escape, let next = scanner.peek(1), next == "\"" || next == "$" || next == escape {
                        result.append(next)
                        scanner.index += 2
                        continue
                    }
                    result.append(inner)
                    scanner.index += 1
                }
            case "$":
                result += try dollar(&scanner)
            case escape:
                scanner.index += 1
                if let next = scanner.peek() {
                    result.append(next)
                    scanner.index += 1
                }
            default:
                result.append(ch)
                scanner.index += 1
            }
        }
        return (result, false)
    }

    private func isNameCharacter(_ ch: Character) -> Bool {
        ch == "_" || (ch.isASCII && (ch.isLetter || ch.isNumber))
    }

    private func name(_ scanner: inout Scanner) -> String {
        guard let first = scanner.peek(), isNameCharacter(first) else { return "" }
        if first.isNumber {
            scanner.index += 1
            return String(first)
        }
        var name = ""
        while let ch = scanner.peek(), isNameCharacter(ch) {
            name.append(ch)
            scanner.index += 1
        }
        return name
    }

    /// At a `$`: the expansion, or `$` itself when no name follows.
    private func dollar(_ scanner: inout Scanner) throws(DockerfileError) -> String {
        scanner.index += 1
        guard let ch = scanner.peek() else { return "$" }
        if ch != "{" {
            guard isNameCharacter(ch) else { return "$" }
            return lookup(name(&scanner)) ?? ""
        }
        scanner.index += 1
        let variable = name(&scanner)
        guard !variable.isEmpty else { throw DockerfileError("bad substitution: ${ without a variable name") }
        guard let next = scanner.peek() else { throw DockerfileError("syntax error: missing '}' after ${\(variable)") }
        if next == "}" {
            scanner.index += 1
            return lookup(variable) ?? ""
        }
        var colon = false
        if next == ":" {
            colon = true
            scanner.index += 1
        }
        guard let modifier = scanner.peek(), modifier == "-" || modifier == "+" || modifier == "?" else {
            let found = scanner.peek().map { String($0) } ?? "end of text"
            throw DockerfileError(
                "unsupported modifier (\(colon ? ":" : "")\(found)) in substitution of ${\(variable)}: skiff knows :- - :+ + :? ?")
        }
        scanner.index += 1
        let (word, closed) = try processUntil("}", &scanner)
        guard closed else { throw DockerfileError("syntax error: missing '}' in ${\(variable)\(colon ? ":" : "")\(modifier)...") }
        let value = lookup(variable)
        let isSet = colon ? !(value ?? "").isEmpty : value != nil
        switch modifier {
        case "-": return isSet ? value ?? "" : word
        case "+": return isSet ? word : ""
        default:
            guard isSet else {
                throw DockerfileError("\(variable): \(word.isEmpty ? "is not allowed to be \(colon ? "empty or unset" : "unset")" : word)")
            }
            return value ?? ""
        }
    }
}

/// A word of a Dockerfile line as written (quotes and escapes kept) and where it starts and
/// ends in the line.
struct LineWord: Equatable {
    var text: String
    var start: Int
    var end: Int
}

/// Splits on unquoted, unescaped whitespace, keeping quotes and escapes: docker's parseWords.
func splitWords(_ characters: [Character], from start: Int = 0, escape: Character) -> [LineWord] {
    var words: [LineWord] = []
    var current = ""
    var wordStart = -1
    var quote: Character?
    var index = start
    while index < characters.count {
        let ch = characters[index]
        if quote == nil, ch == " " || ch == "\t" || ch == "\n" {
            if wordStart >= 0 {
                words.append(LineWord(text: current, start: wordStart, end: index))
                current = ""
                wordStart = -1
            }
            index += 1
            continue
        }
        if wordStart < 0 { wordStart = index }
        current.append(ch)
        if ch == escape, quote != "'", index + 1 < characters.count {
            current.append(characters[index + 1])
            index += 2
            continue
        }
        if let open = quote {
            if ch == open { quote = nil }
        } else if ch == "'" || ch == "\"" {
            quote = ch
        }
        index += 1
    }
    if wordStart >= 0 { words.append(LineWord(text: current, start: wordStart, end: characters.count)) }
    return words
}

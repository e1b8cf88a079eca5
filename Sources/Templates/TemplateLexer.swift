/// The tokens of a Go template, as text/template's lexer makes them: text runs between actions,
/// and inside `{{ }}` the words of pipelines. Positions are offsets in Unicode scalars from the
/// start of the template, turned into line:column for messages.
struct TemplateToken: Equatable {
    enum Kind: Equatable {
        case text, leftDelimiter, rightDelimiter, space, identifier, field, variable, dot
        case string, rawString, character, number, bool, nilValue, pipe, leftParen, rightParen
        case declare, assign, comma, other, endOfInput
        /// What the lexer could not read; the tokens end here and the parser reports it when it
        /// gets this far, as Go's does (an earlier mistake is reported first).
        case error
        case keyword(Keyword)
    }

    enum Keyword: String, CaseIterable {
        case `if`, `else`, end, range, with, `break`, `continue`, define, template, block
    }

    var kind: Kind
    /// The token's text; for `.text` the (trimmed) text, for strings the literal with quotes.
    var text: String
    var position: Int

    /// How Go's parser names a token in "unexpected ..." messages.
    var quoted: String {
        switch kind {
        case .endOfInput: return "EOF"
        case .keyword, .dot: return "<\(text)>"
        default: return GoFormat.quote(text)
        }
    }
}

/// Splits a template into tokens. Comments `{{/* */}}` disappear; `{{- ` and ` -}}` trim the
/// white space of the text next to them, as Go's lexer does.
struct TemplateLexer {
    let scalars: [Unicode.Scalar]
    private(set) var tokens: [TemplateToken] = []
    private var position = 0
    private var parenDepth = 0

    init(_ text: String) {
        scalars = Array(text.unicodeScalars)
    }

    private func at(_ offset: Int, _ prefix: String) -> Bool {
        var index = offset
        for scalar in prefix.unicodeScalars {
            guard index < scalars.count, scalars[index] == scalar else { return false }
            index += 1
        }
        return true
    }

    static func isSpace(_ scalar: Unicode.Scalar) -> Bool { scalar == " " || scalar == "\t" || scalar == "\r" || scalar == "\n" }

    static func isAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
        scalar == "_" || scalar.properties.isAlphabetic || scalar.properties.numericType == .decimal
    }

    private func string(_ range: Range<Int>) -> String {
        var out = String.UnicodeScalarView()
        out.append(contentsOf: scalars[range])
        return String(out)
    }

    func error(_ message: String, at offset: Int) -> TemplateError {
        TemplateError(parse: message, location: Self.location(of: offset, in: scalars))
    }

    /// A lexing mistake, kept as the last token.
    private struct Mistake: Error {
        let message: String
        let offset: Int
    }

    private func mistake(_ message: String, at offset: Int) -> Mistake { Mistake(message: message, offset: offset) }

    /// "line:column", Go's way: the line counted from 1, the column as the offset in that line.
    static func location(of offset: Int, in scalars: [Unicode.Scalar]) -> String {
        var line = 1
        var lineStart = 0
        for index in 0..<min(offset, scalars.count) where scalars[index] == "\n" {
            line += 1
            lineStart = index + 1
        }
        return "\(line):\(offset - lineStart)"
    }

    private mutating func emit(_ kind: TemplateToken.Kind, _ range: Range<Int>) {
        tokens.append(TemplateToken(kind: kind, text: string(range), position: range.lowerBound))
    }

    /// Left trim marker: `{{- ` (the dash followed by white space).
    private func leftTrim(at offset: Int) -> Bool {
        at(offset, "-") && offset + 1 < scalars.count && Self.isSpace(scalars[offset + 1])
    }

    /// At `}}` or ` -}}`: the right delimiter, and whether it trims.
    private func rightDelimiter(at offset: Int) -> (Bool, trims: Bool) {
        if offset + 1 < scalars.count, Self.isSpace(scalars[offset]), scalars[offset + 1] == "-", at(offset + 2, "}}") {
            return (true, true)
        }
        return (at(offset, "}}"), false)
    }

    /// Reads the whole template; a mistake ends the tokens with an `.error` token.
    mutating func run() {
        do {
            try lexAll()
        } catch let mistake as Mistake {
            tokens.append(TemplateToken(kind: .error, text: mistake.message, position: mistake.offset))
        } catch {
            tokens.append(TemplateToken(kind: .error, text: "\(error)", position: position))
        }
    }

    private mutating func lexAll() throws {
        var trimNext = false
        while position < scalars.count {
            var open = position
            while open < scalars.count, !at(open, "{{") { open += 1 }
            var textEnd = open
            let trims = open < scalars.count && leftTrim(at: open + 2)
            if trims { while textEnd > position, Self.isSpace(scalars[textEnd - 1]) { textEnd -= 1 } }
            var textStart = position
            if trimNext { while textStart < textEnd, Self.isSpace(scalars[textStart]) { textStart += 1 } }
            if textStart < textEnd { emit(.text, textStart..<textEnd) }
            guard open < scalars.count else { return }
            position = open + 2
            if trims { position += 2 }
            trimNext = try lexAction(delimiterAt: open)
        }
    }

    /// One action after its `{{`: returns whether it ended with a trim marker.
    private mutating func lexAction(delimiterAt open: Int) throws -> Bool {
        // A comment fills the action: {{/* ... */}}, with optional trim markers.
        if at(position, "/*") {
            var end = position + 2
            while end < scalars.count, !at(end, "*/") { end += 1 }
            guard end < scalars.count else { throw mistake("unclosed comment", at: position) }
            end += 2
            let (closes, trims) = rightDelimiter(at: end)
            guard closes else { throw mistake("comment ends before closing delimiter", at: end) }
            position = end + (trims ? 4 : 2)
            return trims
        }
        emit(.leftDelimiter, open..<open + 2)
        parenDepth = 0
        while true {
            let (closes, trims) = rightDelimiter(at: position)
            if closes {
                if parenDepth > 0 { throw mistake("unclosed left paren", at: position) }
                let start = position + (trims ? 2 : 0)
                emit(.rightDelimiter, start..<start + 2)
                position = start + 2
                return trims
            }
            guard position < scalars.count else { throw mistake("unclosed action", at: open) }
            let scalar = scalars[position]
            let start = position
            switch scalar {
            case _ where Self.isSpace(scalar):
                while position < scalars.count, Self.isSpace(scalars[position]), !rightDelimiter(at: position).trims { position += 1 }
                if position == start { position += 1 }
                emit(.space, start..<position)
            case "=":
                position += 1
                emit(.assign, start..<position)
            case ":":
                guard at(position + 1, "=") else { throw mistake("expected :=", at: position) }
                position += 2
                emit(.declare, start..<position)
            case "|":
                position += 1
                emit(.pipe, start..<position)
            case ",":
                position += 1
                emit(.comma, start..<position)
            case "\"":
                try lexQuote(closing: "\"", kind: .string, message: "unterminated quoted string")
            case "`":
                try lexQuote(closing: "`", kind: .rawString, message: "unterminated raw quoted string")
            case "'":
                try lexQuote(closing: "'", kind: .character, message: "unterminated character constant")
            case "$":
                position += 1
                while position < scalars.count, Self.isAlphanumeric(scalars[position]) { position += 1 }
                try checkTerminator()
                emit(.variable, start..<position)
            case ".":
                if position + 1 < scalars.count, ("0"..."9").contains(scalars[position + 1]) {
                    try lexNumber()
                } else {
                    position += 1
                    while position < scalars.count, Self.isAlphanumeric(scalars[position]) { position += 1 }
                    if position == start + 1 {
                        emit(.dot, start..<position)
                    } else {
                        try checkTerminator()
                        emit(.field, start..<position)
                    }
                }
            case "+", "-", "0"..."9":
                try lexNumber()
            case "(":
                position += 1
                parenDepth += 1
                emit(.leftParen, start..<position)
            case ")":
                parenDepth -= 1
                position += 1
                emit(.rightParen, start..<position)
                guard parenDepth >= 0 else { throw mistake("unexpected right paren \(Self.describe(scalar))", at: start) }
            case _ where Self.isAlphanumeric(scalar):
                while position < scalars.count, Self.isAlphanumeric(scalars[position]) { position += 1 }
                try checkTerminator()
                let word = string(start..<position)
                if let keyword = TemplateToken.Keyword(rawValue: word) {
                    emit(.keyword(keyword), start..<position)
                } else if word == "true" || word == "false" {
                    emit(.bool, start..<position)
                } else if word == "nil" {
                    emit(.nilValue, start..<position)
                } else {
                    emit(.identifier, start..<position)
                }
            case _ where scalar.isASCII && scalar.value >= 0x20 && scalar.value < 0x7F:
                // Other printable ASCII is a token of its own, which the parser rejects by name.
                position += 1
                emit(.other, start..<position)
            default:
                throw mistake("unrecognized character in action: \(Self.describe(scalar))", at: position)
            }
        }
    }

    /// Go's %#U: U+007D '}'.
    static func describe(_ scalar: Unicode.Scalar) -> String {
        var hex = String(scalar.value, radix: 16, uppercase: true)
        while hex.count < 4 { hex = "0" + hex }
        return "U+\(hex) '\(Character(scalar))'"
    }

    /// After a word, what may follow: space, the end, punctuation or the closing delimiter.
    private func checkTerminator() throws {
        guard position < scalars.count else { return }
        let next = scalars[position]
        if Self.isSpace(next) || ".,|:()".unicodeScalars.contains(next) || at(position, "}}") { return }
        throw mistake("bad character \(Self.describe(next))", at: position)
    }

    private mutating func lexQuote(closing: Unicode.Scalar, kind: TemplateToken.Kind, message: String) throws {
        let start = position
        position += 1
        while true {
            guard position < scalars.count else { throw mistake(message, at: start) }
            let scalar = scalars[position]
            if scalar == "\\" && closing != "`" {
                position += 2
                continue
            }
            if scalar == "\n" && closing != "`" { throw mistake(message, at: start) }
            position += 1
            if scalar == closing { break }
        }
        emit(kind, start..<position)
    }

    private mutating func lexNumber() throws {
        let start = position
        if at(position, "+") || at(position, "-") { position += 1 }
        var digits = "0123456789_"
        if at(position, "0x") || at(position, "0X") {
            position += 2
            digits = "0123456789abcdefABCDEF_"
        } else if at(position, "0o") || at(position, "0O") || at(position, "0b") || at(position, "0B") {
            position += 2
        }
        func run(_ set: String) {
            while position < scalars.count, set.unicodeScalars.contains(scalars[position]) { position += 1 }
        }
        run(digits)
        if at(position, ".") {
            position += 1
            run(digits)
        }
        if position < scalars.count, "eEpP".unicodeScalars.contains(scalars[position]) {
            position += 1
            if at(position, "+") || at(position, "-") { position += 1 }
            run("0123456789_")
        }
        if position < scalars.count, Self.isAlphanumeric(scalars[position]) {
            position += 1
            throw mistake("bad number syntax: \"\(string(start..<position))\"", at: start)
        }
        emit(.number, start..<position)
    }
}

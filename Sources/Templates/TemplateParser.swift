import JSON

/// Parses `GoTemplate` text: text runs and `{{ ... }}` actions, with range/if blocks closed by
/// `{{end}}` and split by `{{else}}`.
struct TemplateParser {
    private var actions: [Piece] = []
    private var position = 0

    enum Piece {
        case text(String)
        case action(String)
    }

    init(text: String) {
        actions = Self.split(text)
    }

    mutating func parseAll() throws -> [GoTemplate.Node] {
        let (nodes, stop) = try parseBlock()
        if let stop { throw TemplateError("unexpected {{\(stop)}}") }
        return nodes
    }

    /// Nodes up to an `end` or `else` (returned as the stop word) or the end of the text.
    private mutating func parseBlock() throws -> ([GoTemplate.Node], String?) {
        var nodes: [GoTemplate.Node] = []
        while position < actions.count {
            let piece = actions[position]
            position += 1
            switch piece {
            case .text(let text):
                nodes.append(.text(text))
            case .action(let body):
                if body == "end" || body == "else" { return (nodes, body) }
                if body.hasPrefix("range ") || body.hasPrefix("if ") {
                    let isRange = body.hasPrefix("range ")
                    let command = try Self.command(String(body.dropFirst(isRange ? 6 : 3)))
                    let (inner, stop) = try parseBlock()
                    var otherwise: [GoTemplate.Node] = []
                    if stop == "else" {
                        let (elseNodes, elseStop) = try parseBlock()
                        guard elseStop == "end" else { throw TemplateError("{{else}} without {{end}}") }
                        otherwise = elseNodes
                    } else if stop != "end" {
                        throw TemplateError("{{\(isRange ? "range" : "if")}} without {{end}}")
                    }
                    nodes.append(
                        isRange
                            ? .range(command, body: inner, otherwise: otherwise) : .conditional(command, body: inner, otherwise: otherwise))
                } else {
                    nodes.append(.value(try Self.command(body)))
                }
            }
        }
        return (nodes, nil)
    }

    /// Text and action pieces; `{{-` and `-}}` trim the whitespace next to them.
    static func split(_ text: String) -> [Piece] {
        var pieces: [Piece] = []
        var rest = Substring(text)
        var trimNext = false
        while let open = Self.find("{{", in: rest) {
            var before = String(rest[..<open.lowerBound])
            if trimNext { before = String(before.drop { $0.isWhitespace }) }
            var afterOpen = rest[open.upperBound...]
            let trimBefore = afterOpen.hasPrefix("-") && afterOpen.dropFirst().first?.isWhitespace == true
            if trimBefore {
                afterOpen = afterOpen.dropFirst()
                while before.last?.isWhitespace == true { before.removeLast() }
            }
            if !before.isEmpty { pieces.append(.text(before)) }
            guard let close = Self.find("}}", in: afterOpen) else {
                pieces.append(.action("\u{0}unclosed"))
                return pieces
            }
            var body = afterOpen[..<close.lowerBound]
            trimNext = body.hasSuffix("-") && body.dropLast().last?.isWhitespace == true
            if trimNext { body = body.dropLast() }
            pieces.append(.action(body.trimmingWhitespace()))
            rest = afterOpen[close.upperBound...]
        }
        var tail = String(rest)
        if trimNext { tail = String(tail.drop { $0.isWhitespace }) }
        if !tail.isEmpty { pieces.append(.text(tail)) }
        return pieces
    }

    /// The first occurrence of a two-character marker (this target has no Foundation).
    static func find(_ marker: String, in text: Substring) -> Range<Substring.Index>? {
        let pair = Array(marker)
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(after: index)
            if text[index] == pair[0], next < text.endIndex, text[next] == pair[1] {
                return index..<text.index(after: next)
            }
            index = next
        }
        return nil
    }

    /// `.A.B`, `.`, `"text"`, `12`, or `function arg...`.
    static func command(_ text: String) throws -> GoTemplate.Command {
        if text == "\u{0}unclosed" { throw TemplateError("unclosed action: a {{ without }}") }
        let words = try tokens(text)
        guard let first = words.first else { throw TemplateError("empty action {{}}") }
        if case .word(let name) = first, !name.hasPrefix(".") {
            return GoTemplate.Command(function: name, arguments: try words.dropFirst().map(argument))
        }
        return GoTemplate.Command(function: nil, arguments: try words.map(argument))
    }

    enum Token {
        case word(String)
        case quoted(String)
    }

    static func tokens(_ text: String) throws -> [Token] {
        var out: [Token] = []
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            if character.isWhitespace {
                index = text.index(after: index)
                continue
            }
            if character == "\"" {
                var value = ""
                var cursor = text.index(after: index)
                var closed = false
                while cursor < text.endIndex {
                    let c = text[cursor]
                    if c == "\\", text.index(after: cursor) < text.endIndex {
                        cursor = text.index(after: cursor)
                        let escaped = text[cursor]
                        value.append(escaped == "n" ? "\n" : escaped == "t" ? "\t" : escaped)
                    } else if c == "\"" {
                        closed = true
                        break
                    } else {
                        value.append(c)
                    }
                    cursor = text.index(after: cursor)
                }
                guard closed else { throw TemplateError("unterminated string in {{\(text)}}") }
                out.append(.quoted(value))
                index = text.index(after: cursor)
                continue
            }
            var end = index
            while end < text.endIndex, !text[end].isWhitespace { end = text.index(after: end) }
            out.append(.word(String(text[index..<end])))
            index = end
        }
        return out
    }

    static func argument(_ token: Token) throws -> GoTemplate.Argument {
        switch token {
        case .quoted(let value): return .string(value)
        case .word(let word):
            if word == "." { return .field([]) }
            if word.hasPrefix(".") {
                let path = word.dropFirst().split(separator: ".", omittingEmptySubsequences: false).map(String.init)
                guard !path.contains(where: \.isEmpty) else { throw TemplateError("bad field \(word)") }
                return .field(path)
            }
            if let number = Int(word) { return .number(number) }
            throw TemplateError("unexpected \"\(word)\": arguments are .Field, \"text\" or numbers")
        }
    }
}

extension Substring {
    func trimmingWhitespace() -> String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}

import JSON

/// The parsed form of a template, Go's parse tree cut to what execution needs.
enum TemplateNode: Sendable {
    case text(String)
    /// `{{pipeline}}`: printed unless it declares or assigns variables.
    case action(TemplatePipeline)
    case conditional(TemplatePipeline, body: [TemplateNode], otherwise: [TemplateNode])
    case with(TemplatePipeline, body: [TemplateNode], otherwise: [TemplateNode])
    case range(TemplatePipeline, body: [TemplateNode], otherwise: [TemplateNode])
    case breakLoop, continueLoop
}

/// `$x := cmd | cmd | ...`: each command's result is the last argument of the next.
struct TemplatePipeline: Sendable {
    var declarations: [String] = []
    var isAssignment = false
    var commands: [TemplateCommand] = []
    var position: Int
}

/// One command of a pipeline: a function or method with arguments, or one value.
struct TemplateCommand: Sendable {
    var operands: [TemplateOperand]
    var position: Int
    var text: String
}

/// A term and the fields read from it: `.A.B`, `$x.A`, `(pipeline).A`, a constant, a function name.
struct TemplateOperand: Sendable {
    indirect enum Term: Sendable {
        case dot
        case field  // the fields are read from dot
        case variable(String)
        case pipeline(TemplatePipeline)
        case function(String)
        case constant(JSONValue)
        case nilValue
    }

    var term: Term
    var fields: [String] = []
    var position: Int
    var text: String
    /// Where the fields after the term start (Go places errors in a chain of fields there).
    var chainPosition: Int? = nil
}

/// Go's text/template parser: actions, control structures closed by `{{end}}`, `{{else}}` and
/// `{{else if}}`/`{{else with}}`, pipelines, variables declared in scope, and functions checked
/// against the ones that exist, all at parse time.
struct TemplateParser {
    private let lexer: TemplateLexer
    private let tokens: [TemplateToken]
    private var index = 0
    private var variables: [String] = ["$"]
    private var rangeDepth = 0
    private let functions: Set<String>

    init(text: String, functions: Set<String>) {
        var lexer = TemplateLexer(text)
        lexer.run()
        self.lexer = lexer
        self.tokens = lexer.tokens
        self.functions = functions
    }

    // MARK: tokens

    private var endToken: TemplateToken { TemplateToken(kind: .endOfInput, text: "", position: lexer.scalars.count) }
    private func peek() -> TemplateToken { index < tokens.count ? tokens[index] : endToken }
    private mutating func next() -> TemplateToken {
        defer { index += 1 }
        return peek()
    }
    private mutating func nextNonSpace() -> TemplateToken {
        var token = next()
        while token.kind == .space { token = next() }
        return token
    }
    private mutating func peekNonSpace() -> TemplateToken {
        let token = nextNonSpace()
        index -= 1
        return token
    }

    private func error(_ message: String, at token: TemplateToken) -> TemplateError {
        lexer.error(message, at: token.position)
    }

    private func unexpected(_ token: TemplateToken, in context: String) -> TemplateError {
        if token.kind == .error { return error(token.text, at: token) }
        if token.kind == .endOfInput { return error("unexpected EOF", at: token) }
        if token.kind == .rightDelimiter { return error("unexpected \"}}\" in \(context)", at: token) }
        return error("unexpected \(token.quoted) in \(context)", at: token)
    }

    private mutating func expect(_ kind: TemplateToken.Kind, in context: String) throws -> TemplateToken {
        let token = nextNonSpace()
        guard token.kind == kind else { throw unexpected(token, in: context) }
        return token
    }

    // MARK: structure

    mutating func parse() throws -> [TemplateNode] {
        var nodes: [TemplateNode] = []
        while peek().kind != .endOfInput {
            let (node, stop) = try textOrAction()
            if let stop { throw error("unexpected {{\(stop.text)}}", at: stop) }
            if let node { nodes.append(node) }
        }
        return nodes
    }

    /// Nodes up to `{{end}}` or `{{else}}`, returned as the token that stopped the list.
    private mutating func itemList() throws -> ([TemplateNode], TemplateToken) {
        var nodes: [TemplateNode] = []
        while peekNonSpace().kind != .endOfInput {
            let (node, stop) = try textOrAction()
            if let stop { return (nodes, stop) }
            if let node { nodes.append(node) }
        }
        throw error("unexpected EOF", at: endToken)
    }

    private mutating func textOrAction() throws -> (TemplateNode?, stop: TemplateToken?) {
        let token = nextNonSpace()
        switch token.kind {
        case .text: return (.text(token.text), nil)
        case .leftDelimiter: return try action()
        default: throw unexpected(token, in: "input")
        }
    }

    private mutating func action() throws -> (TemplateNode?, stop: TemplateToken?) {
        let token = nextNonSpace()
        switch token.kind {
        case .keyword(.end):
            _ = try expect(.rightDelimiter, in: "end")
            return (nil, token)
        case .keyword(.else):
            // {{else if ...}} and {{else with ...}} are read by the control that owns the else.
            let after = peekNonSpace()
            if after.kind != .keyword(.if) && after.kind != .keyword(.with) { _ = try expect(.rightDelimiter, in: "else") }
            return (nil, token)
        case .keyword(.if): return (try control("if"), nil)
        case .keyword(.range): return (try control("range"), nil)
        case .keyword(.with): return (try control("with"), nil)
        case .keyword(.break), .keyword(.continue):
            guard rangeDepth > 0 else { throw error("{{\(token.text)}} outside {{range}}", at: token) }
            _ = try expect(.rightDelimiter, in: token.text)
            return (token.kind == .keyword(.break) ? .breakLoop : .continueLoop, nil)
        case .keyword(let keyword):
            throw error("{{\(keyword.rawValue)}} is not supported in --format templates", at: token)
        default:
            index -= 1
            return (.action(try pipeline(context: "command", end: .rightDelimiter)), nil)
        }
    }

    /// if/with/range: the pipeline, the body, the else part; variables declared there end with it.
    private mutating func control(_ context: String) throws -> TemplateNode {
        let scope = variables.count
        defer { variables.removeSubrange(scope...) }
        let pipe = try pipeline(context: context, end: .rightDelimiter)
        if context == "range" { rangeDepth += 1 }
        let (body, firstStop) = try itemList()
        var stop = firstStop
        if context == "range" { rangeDepth -= 1 }
        var otherwise: [TemplateNode] = []
        if stop.kind == .keyword(.else) {
            let chained = peekNonSpace()
            if (context == "if" && chained.kind == .keyword(.if)) || (context == "with" && chained.kind == .keyword(.with)) {
                // {{else if x}} is {{else}}{{if x}}...{{end}}{{end}} sharing the one {{end}}.
                _ = nextNonSpace()
                otherwise = [try control(context)]
            } else {
                (otherwise, stop) = try itemList()
                guard stop.kind == .keyword(.end) else { throw error("expected end; found {{else}}", at: stop) }
            }
        }
        switch context {
        case "if": return .conditional(pipe, body: body, otherwise: otherwise)
        case "with": return .with(pipe, body: body, otherwise: otherwise)
        default:
            return .range(pipe, body: body, otherwise: otherwise)
        }
    }

    private mutating func pipeline(context: String, end: TemplateToken.Kind) throws -> TemplatePipeline {
        var pipe = TemplatePipeline(position: peekNonSpace().position)
        // Declarations: $x := / $x = / (range only) $i, $v :=
        declarations: while true {
            let save = index
            let variable = nextNonSpace()
            guard variable.kind == .variable else {
                index = save
                break
            }
            let following = nextNonSpace()
            switch following.kind {
            case .declare, .assign:
                pipe.isAssignment = following.kind == .assign
                pipe.declarations.append(variable.text)
                if pipe.isAssignment {
                    guard variables.contains(variable.text) else { throw error("undefined variable \"\(variable.text)\"", at: variable) }
                } else {
                    variables.append(variable.text)
                }
                break declarations
            case .comma:
                guard context == "range" else { throw error("too many declarations in \(context)", at: following) }
                guard pipe.declarations.isEmpty else { throw error("too many declarations in range", at: following) }
                pipe.declarations.append(variable.text)
                variables.append(variable.text)
            default:
                if !pipe.declarations.isEmpty { throw unexpected(following, in: context) }
                index = save
                break declarations
            }
        }
        while true {
            let token = nextNonSpace()
            if token.kind == end {
                try checkPipeline(pipe, context: context, at: token)
                return pipe
            }
            switch token.kind {
            case .bool, .character, .dot, .field, .identifier, .number, .nilValue, .rawString, .string, .variable, .leftParen:
                index -= 1
                pipe.commands.append(try command())
            default:
                throw unexpected(token, in: context)
            }
        }
    }

    private func checkPipeline(_ pipe: TemplatePipeline, context: String, at token: TemplateToken) throws {
        guard !pipe.commands.isEmpty else { throw error("missing value for \(context)", at: token) }
        for (stage, command) in pipe.commands.enumerated().dropFirst() {
            switch command.operands[0].term {
            case .constant, .nilValue, .dot:
                throw error("non executable command in pipeline stage \(stage + 1)", at: token)
            default: continue
            }
        }
    }

    private mutating func command() throws -> TemplateCommand {
        let start = peekNonSpace().position
        var operands: [TemplateOperand] = []
        loop: while true {
            _ = peekNonSpace()
            if let operand = try operand() { operands.append(operand) }
            let token = next()
            switch token.kind {
            case .space: continue loop
            case .rightDelimiter, .rightParen:
                index -= 1
            case .pipe: break
            default: throw unexpected(token, in: "operand")
            }
            break loop
        }
        guard !operands.isEmpty else { throw error("empty command", at: peek()) }
        let end = operands.last.map { $0.position + $0.text.unicodeScalars.count } ?? start
        return TemplateCommand(operands: operands, position: start, text: text(start..<end))
    }

    private func text(_ range: Range<Int>) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: lexer.scalars[max(0, range.lowerBound)..<min(lexer.scalars.count, range.upperBound)])
        return String(view)
    }

    private mutating func operand() throws -> TemplateOperand? {
        guard var operand = try term() else { return nil }
        var last = operand.position + operand.text.unicodeScalars.count
        while peek().kind == .field {
            let field = next()
            switch operand.term {
            case .constant, .nilValue, .dot:
                throw error("unexpected . after term \(GoFormat.quote(operand.text))", at: field)
            default: break
            }
            if operand.chainPosition == nil { operand.chainPosition = field.position }
            operand.fields.append(String(field.text.dropFirst()))
            last = field.position + field.text.unicodeScalars.count
        }
        operand.text = text(operand.position..<last)
        return operand
    }

    private mutating func term() throws -> TemplateOperand? {
        let token = nextNonSpace()
        let at = token.position
        switch token.kind {
        case .identifier:
            guard functions.contains(token.text) else { throw error("function \"\(token.text)\" not defined", at: token) }
            return TemplateOperand(term: .function(token.text), position: at, text: token.text)
        case .dot: return TemplateOperand(term: .dot, position: at, text: ".")
        case .nilValue: return TemplateOperand(term: .nilValue, position: at, text: "nil")
        case .variable:
            let parts = token.text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard variables.contains(parts[0]) else { throw error("undefined variable \"\(parts[0])\"", at: token) }
            return TemplateOperand(term: .variable(parts[0]), position: at, text: token.text)
        case .field:
            return TemplateOperand(term: .field, fields: [String(token.text.dropFirst())], position: at, text: token.text)
        case .bool: return TemplateOperand(term: .constant(.bool(token.text == "true")), position: at, text: token.text)
        case .number, .character:
            return TemplateOperand(term: .constant(try number(token)), position: at, text: token.text)
        case .string, .rawString:
            return TemplateOperand(term: .constant(.string(try unquote(token))), position: at, text: token.text)
        case .leftParen:
            let inner = try pipeline(context: "parenthesized pipeline", end: .rightParen)
            let end = tokens[index - 1].position + 1
            return TemplateOperand(term: .pipeline(inner), position: at, text: text(at..<end))
        default:
            index -= 1
            return nil
        }
    }

    // MARK: constants

    /// A number or character constant: integers as int, numbers with a fraction or exponent as float64.
    private func number(_ token: TemplateToken) throws -> JSONValue {
        if token.kind == .character {
            let value = try unquote(token).unicodeScalars
            guard value.count == 1, let scalar = value.first else { throw error("malformed character constant: \(token.text)", at: token) }
            return .number(JSONNumber(Int(scalar.value)))
        }
        var text = token.text.filter { $0 != "_" }
        var negative = false
        if text.hasPrefix("+") || text.hasPrefix("-") {
            negative = text.hasPrefix("-")
            text.removeFirst()
        }
        let lower = text.lowercased()
        var radix = 10
        if lower.hasPrefix("0x") {
            radix = 16
        } else if lower.hasPrefix("0o") {
            radix = 8
        } else if lower.hasPrefix("0b") {
            radix = 2
        } else if lower.count > 1, lower.hasPrefix("0"), lower.allSatisfy(\.isNumber) {
            radix = 8
            text = "0o" + text.dropFirst()
        }
        if radix != 10 {
            guard let value = Int(text.dropFirst(2), radix: radix) else {
                throw error("illegal number syntax: \"\(token.text)\"", at: token)
            }
            return .number(JSONNumber(negative ? -value : value))
        }
        if let value = Int(text) { return .number(JSONNumber(negative ? -value : value)) }
        guard let value = Double(text), value.isFinite, let number = JSONNumber(negative ? -value : value) else {
            throw error("illegal number syntax: \"\(token.text)\"", at: token)
        }
        return .number(number)
    }

    /// Go's strconv.Unquote for "...", `...` and '...'.
    private func unquote(_ token: TemplateToken) throws -> String {
        let inner = Array(token.text.unicodeScalars.dropFirst().dropLast())
        if token.kind == .rawString { return String(String.UnicodeScalarView(inner.filter { $0 != "\r" })) }
        var out = String.UnicodeScalarView()
        var bytes: [UInt8] = []  // \x and octal escapes make bytes, decoded as UTF-8 at the end
        func flush() {
            if !bytes.isEmpty {
                out.append(contentsOf: String(decoding: bytes, as: UTF8.self).unicodeScalars)
                bytes = []
            }
        }
        var position = 0
        func hex(_ count: Int) throws -> UInt32 {
            guard position + count <= inner.count,
                let value = UInt32(String(String.UnicodeScalarView(inner[position..<position + count])), radix: 16)
            else { throw error("invalid syntax in \(token.text)", at: token) }
            position += count
            return value
        }
        while position < inner.count {
            let scalar = inner[position]
            position += 1
            guard scalar == "\\", position < inner.count else {
                flush()
                out.append(scalar)
                continue
            }
            let escape = inner[position]
            position += 1
            switch escape {
            case "x":
                bytes.append(UInt8(try hex(2)))
                continue
            case "0"..."7":
                position -= 1
                guard position + 3 <= inner.count,
                    let value = UInt8(String(String.UnicodeScalarView(inner[position..<position + 3])), radix: 8)
                else { throw error("invalid syntax in \(token.text)", at: token) }
                position += 3
                bytes.append(value)
                continue
            default: break
            }
            flush()
            switch escape {
            case "a": out.append("\u{07}")
            case "b": out.append("\u{08}")
            case "f": out.append("\u{0C}")
            case "n": out.append("\n")
            case "r": out.append("\r")
            case "t": out.append("\t")
            case "v": out.append("\u{0B}")
            case "\\", "\"", "'": out.append(escape)
            case "u", "U":
                guard let value = Unicode.Scalar(try hex(escape == "u" ? 4 : 8)) else {
                    throw error("invalid syntax in \(token.text)", at: token)
                }
                out.append(value)
            default: throw error("invalid syntax in \(token.text)", at: token)
            }
        }
        flush()
        return String(out)
    }
}

import JSON

/// Go's text/template as docker's `--format` uses it, evaluated over a JSON value: fields
/// (`.State.Pid`), variables (`$x := .Name`, `{{range $k, $v := .Map}}`, `$` for the data),
/// pipelines (`.Name | printf "%q"`), parenthesized pipelines with fields read from their result
/// (`(index .Networks "bridge").IPAddress`), `if`/`else if`/`with`/`range` with `else`,
/// `break`/`continue`, comments, `{{-`/`-}}` trimming, Go's functions (`and or not len index
/// slice print printf println eq ne lt le gt ge html js urlquery`) and docker's (`json split join
/// title lower upper pad truncate`). The data may have methods that take arguments
/// (`{{.Label "com.example.tier"}}`). Values print as Go prints them: strings raw, objects as
/// map[k:v] by sorted key, arrays as [a b], a missing value as <no value>, nil inside as <nil>.
public struct GoTemplate: Sendable {
    let nodes: [TemplateNode]
    let source: [Unicode.Scalar]

    public init(_ text: String) throws {
        var parser = TemplateParser(text: text, functions: TemplateFunctions.names)
        nodes = try parser.parse()
        source = Array(text.unicodeScalars)
    }

    /// A method of the data, as docker's formatting contexts have: called for `.Name arg...`
    /// on the top-level value (the dot at the start, or `$`). Its arguments are strings.
    public struct Method: Sendable {
        let parameters: Int
        let body: @Sendable ([String]) throws -> JSONValue

        public init(parameters: Int, _ body: @escaping @Sendable ([String]) throws -> JSONValue) {
            self.parameters = parameters
            self.body = body
        }
    }

    /// What a field the data lacks gives: Go's default (<no value>), or an error as
    /// `missingkey=error` and docker's typed formatting contexts give.
    public enum MissingKey: Sendable {
        case noValue, error
    }

    /// The template applied to `value`.
    public func render(_ value: JSONValue, methods: [String: Method] = [:], missingKey: MissingKey = .noValue) throws -> String {
        var execution = TemplateExecution(template: self, methods: methods, missingKey: missingKey, header: false, root: value)
        try execution.run()
        return execution.out
    }

    /// A `table` header: the template over the column names with docker's header functions
    /// (json, split, join, title, lower, upper and truncate leave the name as it is). As docker,
    /// an error ends the header where it happened instead of failing the command.
    public func renderHeader(_ names: JSONValue, methods: [String: Method] = [:]) -> String {
        var execution = TemplateExecution(template: self, methods: methods, missingKey: .noValue, header: true, root: names)
        try? execution.run()
        return execution.out
    }
}

/// A template that cannot be parsed or evaluated, in Go's words: `template: :1:7: ...`.
public struct TemplateError: Error, CustomStringConvertible, Equatable {
    public let description: String
    /// True for a template that does not parse (docker: "template parsing error").
    public let isParseError: Bool

    init(parse message: String, location: String) {
        description = "template: :\(location): \(message)"
        isParseError = true
    }

    init(execution message: String, location: String, node: String) {
        description = "template: :\(location): executing \"\" at <\(node)>: \(message)"
        isParseError = false
    }
}

/// A value during execution: JSON, Go's missing value, or the data itself (which has the methods).
enum TemplateValue {
    case missing
    case json(JSONValue)
    case root(JSONValue)

    var json: JSONValue? {
        switch self {
        case .missing: return nil
        case .json(let value), .root(let value): return value
        }
    }

    /// Go's truth: false, 0, nil, missing and empty strings, lists and maps are false.
    var isTrue: Bool {
        switch json {
        case nil, .null?: return false
        case .bool(let value)?: return value
        case .number(let number)?:
            switch GoFormat.number(number) {
            case .int(let value): return value != 0
            case .uint(let value): return value != 0
            case .float(let value): return value != 0
            }
        case .string(let text)?: return !text.isEmpty
        case .array(let elements)?: return !elements.isEmpty
        case .object(let members)?: return !members.isEmpty
        }
    }
}

/// A failure inside a function or method, placed by the caller at its command.
struct FunctionFailure: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

/// One run of a template: the variable stack, the output so far, break/continue.
struct TemplateExecution {
    let template: GoTemplate
    let methods: [String: GoTemplate.Method]
    let missingKey: GoTemplate.MissingKey
    let header: Bool
    var variables: [(name: String, value: TemplateValue)]
    var out = ""

    enum Flow {
        case normal, breakLoop, continueLoop
    }

    init(template: GoTemplate, methods: [String: GoTemplate.Method], missingKey: GoTemplate.MissingKey, header: Bool, root: JSONValue) {
        self.template = template
        self.methods = methods
        self.missingKey = missingKey
        self.header = header
        variables = [("$", .root(root))]
    }

    mutating func run() throws {
        _ = try walk(template.nodes, dot: variables[0].value)
    }

    func error(_ message: String, at position: Int, node: String) -> TemplateError {
        TemplateError(execution: message, location: TemplateLexer.location(of: position, in: template.source), node: node)
    }

    private mutating func walk(_ nodes: [TemplateNode], dot: TemplateValue) throws -> Flow {
        for node in nodes {
            let flow = try walk(node, dot: dot)
            if flow != .normal { return flow }
        }
        return .normal
    }

    private mutating func walk(_ node: TemplateNode, dot: TemplateValue) throws -> Flow {
        switch node {
        case .text(let text):
            out += text
        case .action(let pipe):
            let value = try evaluate(pipe, dot: dot)
            if pipe.declarations.isEmpty { out += Self.printed(value) }
        case .conditional(let pipe, let body, let otherwise), .with(let pipe, let body, let otherwise):
            let scope = variables.count
            defer { variables.removeSubrange(scope...) }
            let value = try evaluate(pipe, dot: dot)
            if value.isTrue {
                if case .with = node { return try walk(body, dot: value) }
                return try walk(body, dot: dot)
            }
            return try walk(otherwise, dot: dot)
        case .range(let pipe, let body, let otherwise):
            return try walkRange(pipe, body: body, otherwise: otherwise, dot: dot)
        case .breakLoop: return .breakLoop
        case .continueLoop: return .continueLoop
        }
        return .normal
    }

    /// How an action prints its value: Go's fmt, with a missing or nil value as <no value>.
    static func printed(_ value: TemplateValue) -> String {
        guard let json = value.json, json != .null else { return "<no value>" }
        return GoFormat.plain(json)
    }

    private mutating func walkRange(_ pipe: TemplatePipeline, body: [TemplateNode], otherwise: [TemplateNode], dot: TemplateValue) throws
        -> Flow
    {
        let scope = variables.count
        defer { variables.removeSubrange(scope...) }
        let value = try evaluate(pipe, dot: dot)
        var items: [(key: JSONValue, value: JSONValue)] = []
        switch value.json {
        case nil, .null?: break
        case .array(let elements)?: items = elements.enumerated().map { (.number(JSONNumber($0.offset)), $0.element) }
        case .object(let members)?: items = GoFormat.sortedMembers(members).map { (.string($0.key), $0.value) }
        case .number(let number)?:
            guard case .int(let count) = GoFormat.number(number), count >= 0 else { fallthrough }
            items = (0..<Int(count)).map { (.number(JSONNumber($0)), .number(JSONNumber($0))) }
        default:
            let last = pipe.commands.last.map { ($0.position, $0.text) } ?? (pipe.position, "")
            throw error("range can't iterate over \(Self.printed(value))", at: last.0, node: last.1)
        }
        if items.isEmpty { return try walk(otherwise, dot: dot) }
        for item in items {
            // The declared variables were pushed by evaluate: the element last, the key before it.
            if pipe.declarations.count == 2 {
                variables[variables.count - 2].value = .json(item.key)
                variables[variables.count - 1].value = .json(item.value)
            } else if pipe.declarations.count == 1 {
                variables[variables.count - 1].value = .json(item.value)
            }
            let inner = variables.count
            let flow = try walk(body, dot: .json(item.value))
            variables.removeSubrange(inner...)
            if flow == .breakLoop { break }
        }
        return .normal
    }

    // MARK: pipelines and commands

    mutating func evaluate(_ pipe: TemplatePipeline, dot: TemplateValue) throws -> TemplateValue {
        var value: TemplateValue?
        for command in pipe.commands {
            value = try evaluate(command, dot: dot, final: value)
        }
        let result = value ?? .missing
        for name in pipe.declarations {
            if pipe.isAssignment, let slot = variables.lastIndex(where: { $0.name == name }) {
                variables[slot].value = result
            } else {
                variables.append((name, result))
            }
        }
        return result
    }

    private func variable(_ name: String) -> TemplateValue {
        variables.last(where: { $0.name == name })?.value ?? .missing
    }

    private mutating func evaluate(_ command: TemplateCommand, dot: TemplateValue, final: TemplateValue?) throws -> TemplateValue {
        let first = command.operands[0]
        let arguments = Array(command.operands.dropFirst())
        func notAFunction() throws {
            if !arguments.isEmpty || final != nil {
                throw error("can't give argument to non-function \(first.text)", at: first.position, node: first.text)
            }
        }
        switch first.term {
        case .function(let name):
            return try TemplateFunctions.call(name, arguments: arguments, final: final, command: command, dot: dot, in: &self)
        case .field:
            return try fields(first.fields, of: dot, arguments: arguments, final: final, dot: dot, operand: first)
        case .variable(let name):
            if first.fields.isEmpty {
                try notAFunction()
                return variable(name)
            }
            return try fields(first.fields, of: variable(name), arguments: arguments, final: final, dot: dot, operand: first)
        case .pipeline(let inner):
            if first.fields.isEmpty {
                try notAFunction()
                return try evaluate(inner, dot: dot)
            }
            return try fields(first.fields, of: try evaluate(inner, dot: dot), arguments: arguments, final: final, dot: dot, operand: first)
        case .dot:
            try notAFunction()
            return dot
        case .constant(let value):
            try notAFunction()
            return .json(value)
        case .nilValue:
            throw error("nil is not a command", at: first.position, node: first.text)
        }
    }

    /// The value of one operand used as an argument.
    mutating func argument(_ operand: TemplateOperand, dot: TemplateValue) throws -> TemplateValue {
        switch operand.term {
        case .dot: return dot
        case .nilValue: return .json(.null)
        case .constant(let value): return .json(value)
        case .field: return try fields(operand.fields, of: dot, arguments: [], final: nil, dot: dot, operand: operand)
        case .variable(let name):
            return try fields(operand.fields, of: variable(name), arguments: [], final: nil, dot: dot, operand: operand)
        case .pipeline(let inner):
            return try fields(operand.fields, of: try evaluate(inner, dot: dot), arguments: [], final: nil, dot: dot, operand: operand)
        case .function(let name):
            let command = TemplateCommand(operands: [operand], position: operand.position, text: operand.text)
            return try TemplateFunctions.call(name, arguments: [], final: nil, command: command, dot: dot, in: &self)
        }
    }

    /// `.A.B.C` read from `receiver`; the last field gets the arguments (a method call).
    private mutating func fields(
        _ names: [String], of receiver: TemplateValue, arguments: [TemplateOperand], final: TemplateValue?, dot: TemplateValue,
        operand: TemplateOperand
    ) throws -> TemplateValue {
        var current = receiver
        for (position, name) in names.enumerated() {
            let isLast = position == names.count - 1
            current = try field(
                name, of: current, arguments: isLast ? arguments : [], final: isLast ? final : nil, dot: dot, operand: operand)
        }
        return current
    }

    private mutating func field(
        _ name: String, of receiver: TemplateValue, arguments: [TemplateOperand], final: TemplateValue?, dot: TemplateValue,
        operand: TemplateOperand
    ) throws -> TemplateValue {
        func fail(_ message: String) -> TemplateError { error(message, at: operand.chainPosition ?? operand.position, node: operand.text) }
        let hasArguments = !arguments.isEmpty || final != nil
        if case .root = receiver, let method = methods[name] {
            var values: [String] = []
            for argument in arguments {
                values.append(try TemplateFunctions.string(try self.argument(argument, dot: dot), operand: argument, in: self))
            }
            if let final { values.append(try TemplateFunctions.string(final, operand: operand, in: self)) }
            guard values.count == method.parameters else {
                throw fail("wrong number of args for \(name): want \(method.parameters) got \(values.count)")
            }
            do {
                return .json(try method.body(values))
            } catch {
                throw fail("error calling \(name): \(error)")
            }
        }
        switch receiver.json {
        case nil:
            if missingKey == .error { throw fail("nil data; no entry for key \"\(name)\"") }
            return .missing
        case .object(let members)?:
            if hasArguments { throw fail("\(name) is not a method but has arguments") }
            if let value = members.last(where: { $0.key == name })?.value { return .json(value) }
            if missingKey == .error { throw fail("map has no entry for key \"\(name)\"") }
            return .missing
        case .null?:
            throw fail("nil pointer evaluating interface {}.\(name)")
        case let other?:
            throw fail("can't evaluate field \(name) in type \(GoFormat.typeName(other))")
        }
    }
}

import JSON

/// The part of Go's text/template that docker users put in `--format`, evaluated over a JSON
/// value: `{{.Field.Sub}}`, `{{.}}`, `{{json .X}}`, `{{index .Map "key"}}` (or a number for an
/// array), `{{len .X}}`, `{{upper .X}}`, `{{lower .X}}`, `{{join .List ", "}}`, `{{println .X}}`,
/// `{{range .X}}...{{else}}...{{end}}` (arrays, and objects by sorted key, as Go ranges maps),
/// `{{if .X}}...{{else}}...{{end}}`, and `{{-`/`-}}` trimming. Values print as Go prints them:
/// strings raw, objects as map[k:v], arrays as [a b], a missing field as <no value>.
public struct GoTemplate: Sendable {
    indirect enum Node: Sendable {
        case text(String)
        case value(Command)
        case range(Command, body: [Node], otherwise: [Node])
        case conditional(Command, body: [Node], otherwise: [Node])
    }

    enum Argument: Sendable {
        case field([String])  // [] is the dot itself
        case string(String)
        case number(Int)
    }

    struct Command: Sendable {
        var function: String?
        var arguments: [Argument]
    }

    let nodes: [Node]

    public init(_ text: String) throws {
        var parser = TemplateParser(text: text)
        nodes = try parser.parseAll()
    }

    public func render(_ value: JSONValue) throws -> String {
        var out = ""
        try Self.render(nodes, dot: value, into: &out)
        return out
    }

    private static func render(_ nodes: [Node], dot: JSONValue, into out: inout String) throws {
        for node in nodes {
            switch node {
            case .text(let text):
                out += text
            case .value(let command):
                out += try evaluate(command, dot: dot).display
            case .range(let command, let body, let otherwise):
                let items: [JSONValue]
                switch try evaluate(command, dot: dot) {
                case .array(let elements): items = elements
                case .object(let members): items = members.sorted { $0.key < $1.key }.map(\.value)
                case .null: items = []
                case let other: throw TemplateError("range over \(other.kindDescription), not a list or a map")
                }
                if items.isEmpty { try render(otherwise, dot: dot, into: &out) }
                for item in items { try render(body, dot: item, into: &out) }
            case .conditional(let command, let body, let otherwise):
                try render(try evaluate(command, dot: dot).isTrue ? body : otherwise, dot: dot, into: &out)
            }
        }
    }

    private static func evaluate(_ command: Command, dot: JSONValue) throws -> JSONValue {
        let values = command.arguments.map { argument -> JSONValue in
            switch argument {
            case .field(let path):
                var current = dot
                for name in path {
                    guard case .object = current else { return .null }
                    guard let next = current[name] else { return .null }
                    current = next
                }
                return current
            case .string(let text): return .string(text)
            case .number(let number): return .number(JSONNumber(number))
            }
        }
        guard let function = command.function else {
            guard values.count == 1 else { throw TemplateError("expected one value, got \(values.count)") }
            return values[0]
        }
        func one() throws -> JSONValue {
            guard values.count == 1 else { throw TemplateError("\(function) takes one argument") }
            return values[0]
        }
        switch function {
        case "json":
            return .string(String(decoding: try one().serialized(), as: UTF8.self))
        case "len":
            switch try one() {
            case .array(let elements): return .number(JSONNumber(elements.count))
            case .object(let members): return .number(JSONNumber(members.count))
            case .string(let text): return .number(JSONNumber(text.utf8.count))
            case let other: throw TemplateError("len of \(other.kindDescription)")
            }
        case "upper": return .string(try one().display.uppercased())
        case "lower": return .string(try one().display.lowercased())
        case "println": return .string(values.map(\.display).joined(separator: " ") + "\n")
        case "index":
            guard values.count == 2 else { throw TemplateError("index takes a map or list and a key") }
            switch (values[0], values[1]) {
            case (.object, .string(let key)): return values[0][key] ?? .null
            case (.array(let elements), .number(let number)):
                guard let position = Int(number.text), elements.indices.contains(position) else {
                    throw TemplateError("index \(number.text) out of range")
                }
                return elements[position]
            case (.null, _): return .null
            default: throw TemplateError("cannot index \(values[0].kindDescription) with \(values[1].kindDescription)")
            }
        case "join":
            guard values.count == 2, case .array(let elements) = values[0], case .string(let separator) = values[1] else {
                throw TemplateError("join takes a list and a separator string")
            }
            return .string(elements.map(\.display).joined(separator: separator))
        default:
            throw TemplateError("function \"\(function)\" not defined")
        }
    }
}

/// A template that cannot be parsed or evaluated.
public struct TemplateError: Error, CustomStringConvertible, Equatable {
    public let description: String
    init(_ description: String) { self.description = description }
}

extension JSONValue {
    /// How Go's templates print the value.
    var display: String {
        switch self {
        case .null: return "<no value>"
        case .bool(let value): return value ? "true" : "false"
        case .number(let number): return number.text
        case .string(let text): return text
        case .array(let elements): return "[" + elements.map(\.display).joined(separator: " ") + "]"
        case .object(let members):
            return "map[" + members.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value.display)" }.joined(separator: " ") + "]"
        }
    }

    /// Go's truth: false, 0, nil and empty strings, lists and maps are false.
    var isTrue: Bool {
        switch self {
        case .null: return false
        case .bool(let value): return value
        case .number(let number): return number.text != "0" && number.text != "0.0"
        case .string(let text): return !text.isEmpty
        case .array(let elements): return !elements.isEmpty
        case .object(let members): return !members.isEmpty
        }
    }
}

import JSON

/// The functions a template can call: Go's built-ins and the ones docker's CLI adds
/// (github.com/docker/cli/templates: json, split, join, title, lower, upper, pad, truncate),
/// with Go's argument checks and messages. In a `table` header docker's functions other than
/// pad return their first argument unchanged, as docker's HeaderFunctions do.
enum TemplateFunctions {
    static let names: Set<String> = [
        "and", "or", "not", "len", "index", "slice", "print", "printf", "println", "eq", "ne", "lt", "le", "gt", "ge", "html", "js",
        "urlquery", "call", "json", "split", "join", "title", "lower", "upper", "pad", "truncate",
    ]

    /// Go's parameter types, which decide how an argument is checked.
    enum Parameter {
        case any, string, int, strings
    }

    static func signature(_ name: String, header: Bool) -> (fixed: [Parameter], variadic: Parameter?) {
        if header {
            switch name {
            case "json", "title", "lower", "upper": return ([.string], nil)
            case "split", "join": return ([.string, .string], nil)
            case "truncate": return ([.string, .int], nil)
            default: break
            }
        }
        switch name {
        case "and", "or", "eq", "index", "slice", "call": return ([.any], .any)
        case "not", "len", "json": return ([.any], nil)
        case "ne", "lt", "le", "gt", "ge": return ([.any, .any], nil)
        case "print", "println", "html", "js", "urlquery": return ([], .any)
        case "printf": return ([.string], .any)
        case "split": return ([.string, .string], nil)
        case "join": return ([.strings, .string], nil)
        case "title", "lower", "upper": return ([.string], nil)
        case "pad": return ([.string, .int, .int], nil)
        case "truncate": return ([.string, .int], nil)
        default: return ([], nil)
        }
    }

    static func call(
        _ name: String, arguments: [TemplateOperand], final: TemplateValue?, command: TemplateCommand, dot: TemplateValue,
        in execution: inout TemplateExecution
    ) throws -> TemplateValue {
        let (fixed, variadic) = signature(name, header: execution.header)
        let count = arguments.count + (final == nil ? 0 : 1)
        func fail(_ message: String) -> TemplateError { execution.error(message, at: command.position, node: command.text) }
        func arity(_ message: String) -> TemplateError { execution.error(message, at: command.position, node: name) }
        if variadic != nil {
            guard count >= fixed.count else {
                throw arity("wrong number of args for \(name): want at least \(fixed.count) got \(arguments.count)")
            }
        } else if count != fixed.count {
            throw arity("wrong number of args for \(name): want \(fixed.count) got \(count)")
        }
        // and/or stop at the first argument that decides them, as Go's do.
        if name == "and" || name == "or" {
            var last = TemplateValue.missing
            for operand in arguments {
                last = try execution.argument(operand, dot: dot)
                if last.isTrue == (name == "or") { return last }
            }
            if let final { last = final }
            return last
        }
        var values: [TemplateValue] = []
        for (position, operand) in arguments.enumerated() {
            let parameter = position < fixed.count ? fixed[position] : variadic ?? .any
            values.append(try check(try execution.argument(operand, dot: dot), parameter, operand: operand, in: execution))
        }
        if let final {
            let parameter = count - 1 < fixed.count ? fixed[count - 1] : variadic ?? .any
            values.append(try check(final, parameter, operand: command.operands.last ?? command.operands[0], in: execution, piped: true))
        }
        do {
            return try apply(name, values.map { $0.json }, header: execution.header)
        } catch let failure as FunctionFailure {
            throw fail("error calling \(name): \(failure.message)")
        }
    }

    /// Go's evalArg/validateType: a constant of the wrong kind, a missing value or a value of
    /// the wrong type for a string, int or []string parameter is an error.
    static func check(
        _ value: TemplateValue, _ parameter: Parameter, operand: TemplateOperand, in execution: TemplateExecution, piped: Bool = false
    ) throws -> TemplateValue {
        func fail(_ message: String) -> TemplateError { execution.error(message, at: operand.position, node: operand.text) }
        var isConstant = false
        if !piped, case .constant = operand.term { isConstant = true }
        switch parameter {
        case .any:
            return value
        case .string:
            if case .string? = value.json { return value }
            if isConstant { throw fail("expected string; found \(operand.text)") }
            guard let json = value.json, json != .null else { throw fail("invalid value; expected string") }
            throw fail("wrong type for value; expected string; got \(GoFormat.typeName(json))")
        case .int:
            if case .number(let number)? = value.json, case .int = GoFormat.number(number) { return value }
            if case .number(let number)? = value.json, isConstant, let integer = number.int64Value {
                return .json(.number(JSONNumber(integer)))
            }
            if isConstant { throw fail("expected integer; found \(operand.text)") }
            guard let json = value.json, json != .null else { throw fail("invalid value; expected int") }
            throw fail("wrong type for value; expected int; got \(GoFormat.typeName(json))")
        case .strings:
            if case .array(let elements)? = value.json, elements.allSatisfy({ if case .string = $0 { return true } else { return false } })
            {
                return value
            }
            if case .null? = value.json { return .json(.array([])) }
            if isConstant { throw fail("wrong type for value; expected []string; got \(GoFormat.typeName(value.json))") }
            guard let json = value.json else { throw fail("invalid value; expected []string") }
            throw fail("wrong type for value; expected []string; got \(GoFormat.typeName(json))")
        }
    }

    /// A method's argument: a string, as docker's Label(name string) takes.
    static func string(_ value: TemplateValue, operand: TemplateOperand, in execution: TemplateExecution) throws -> String {
        let checked = try check(value, .string, operand: operand, in: execution)
        guard case .string(let text)? = checked.json else { return "" }
        return text
    }

    // MARK: the functions

    static func apply(_ name: String, _ values: [JSONValue?], header: Bool) throws -> TemplateValue {
        func text(_ index: Int) -> String {
            if case .string(let value)? = values[index] { return value }
            return ""
        }
        func int(_ index: Int) -> Int {
            if case .number(let number)? = values[index], let value = number.int64Value { return Int(value) }
            return 0
        }
        if header, ["json", "split", "join", "title", "lower", "upper", "truncate"].contains(name) { return .json(.string(text(0))) }
        switch name {
        case "not": return .json(.bool(!TemplateValue(values[0]).isTrue))
        case "len": return try length(values[0])
        case "index": return try index(values[0], Array(values.dropFirst()))
        case "slice": return try slice(values[0], Array(values.dropFirst()))
        case "print": return .json(.string(GoFormat.sprint(values)))
        case "println": return .json(.string(GoFormat.sprintln(values)))
        case "printf": return .json(.string(GoFormat.sprintf(text(0), Array(values.dropFirst()))))
        case "eq":
            guard values.count > 1 else { throw FunctionFailure("missing argument for comparison") }
            for other in values.dropFirst() where try equal(values[0], other) { return .json(.bool(true)) }
            return .json(.bool(false))
        case "ne": return .json(.bool(!(try equal(values[0], values[1]))))
        case "lt": return .json(.bool(try less(values[0], values[1])))
        case "le": return .json(.bool(try less(values[0], values[1]) || equal(values[0], values[1])))
        case "gt": return .json(.bool(!(try less(values[0], values[1]) || equal(values[0], values[1]))))
        case "ge": return .json(.bool(!(try less(values[0], values[1]))))
        case "html": return .json(.string(html(escapeArguments(values))))
        case "js": return .json(.string(javascript(escapeArguments(values))))
        case "urlquery": return .json(.string(urlQuery(escapeArguments(values))))
        case "call":
            guard let value = values[0], value != .null else { throw FunctionFailure("call of nil") }
            throw FunctionFailure("non-function of type \(GoFormat.typeName(value))")
        case "json":
            // Go's encoding/json writes map keys sorted; so does this (objects from Swift
            // dictionaries have no stable order of their own).
            return .json(.string(String(decoding: (values[0] ?? .null).serialized(sortedKeys: true), as: UTF8.self)))
        case "split": return .json(.array(split(text(0), separator: text(1)).map(JSONValue.string)))
        case "join":
            guard case .array(let elements)? = values[0] else { return .json(.string("")) }
            return .json(
                .string(elements.map { if case .string(let value) = $0 { return value } else { return "" } }.joined(separator: text(1))))
        case "title": return .json(.string(title(text(0))))
        case "lower": return .json(.string(mapScalars(text(0)) { $0.properties.lowercaseMapping }))
        case "upper": return .json(.string(mapScalars(text(0)) { $0.properties.uppercaseMapping }))
        case "pad":
            guard int(1) >= 0, int(2) >= 0 else { throw FunctionFailure("strings: negative Repeat count") }
            if text(0).isEmpty { return .json(.string("")) }
            return .json(.string(String(repeating: " ", count: int(1)) + text(0) + String(repeating: " ", count: int(2))))
        case "truncate":
            let bytes = Array(text(0).utf8)
            guard int(1) >= 0 else { throw FunctionFailure("runtime error: slice bounds out of range [:\(int(1))]") }
            if bytes.count < int(1) { return .json(.string(text(0))) }
            return .json(.string(String(decoding: bytes.prefix(int(1)), as: UTF8.self)))
        default:
            throw FunctionFailure("function \"\(name)\" not defined")
        }
    }

    private static func length(_ value: JSONValue?) throws -> TemplateValue {
        switch value {
        case .array(let elements)?: return .json(.number(JSONNumber(elements.count)))
        case .object(let members)?: return .json(.number(JSONNumber(GoFormat.sortedMembers(members).count)))
        case .string(let text)?: return .json(.number(JSONNumber(text.utf8.count)))
        case nil, .null?: throw FunctionFailure("len of nil pointer")
        case let other?: throw FunctionFailure("len of type \(GoFormat.typeName(other))")
        }
    }

    /// An index argument as Go's indexArg takes it: an integer within 0...limit.
    private static func position(_ value: JSONValue?, limit: Int) throws -> Int {
        guard let value, value != .null else { throw FunctionFailure("cannot index slice/array with nil") }
        guard case .number(let number) = value, case .int(let integer) = GoFormat.number(number) else {
            throw FunctionFailure("cannot index slice/array with type \(GoFormat.typeName(value))")
        }
        guard integer >= 0, integer <= limit else { throw FunctionFailure("index out of range: \(integer)") }
        return Int(integer)
    }

    private static func index(_ item: JSONValue?, _ keys: [JSONValue?]) throws -> TemplateValue {
        guard var current = item, current != .null else { throw FunctionFailure("index of untyped nil") }
        for key in keys {
            switch current {
            case .null: throw FunctionFailure("index of nil pointer")
            case .array(let elements):
                let at = try position(key, limit: elements.count)
                guard at < elements.count else { throw FunctionFailure("index out of range: \(at)") }
                current = elements[at]
            case .string(let text):
                let bytes = Array(text.utf8)
                let at = try position(key, limit: bytes.count)
                guard at < bytes.count else { throw FunctionFailure("index out of range: \(at)") }
                current = .number(JSONNumber(Int(bytes[at])))
            case .object(let members):
                guard case .string(let name)? = key else {
                    guard let key, key != .null else { throw FunctionFailure("value is nil; should be of type string") }
                    throw FunctionFailure("value has type \(GoFormat.typeName(key)); should be string")
                }
                if let value = members.last(where: { $0.key == name })?.value {
                    current = value
                } else if !members.isEmpty, members.allSatisfy({ if case .string = $0.value { return true } else { return false } }) {
                    // A map of strings (labels, options): Go's zero value for a missing key, "".
                    current = .string("")
                } else {
                    return .missing
                }
            default:
                throw FunctionFailure("can't index item of type \(GoFormat.typeName(current))")
            }
        }
        return .json(current)
    }

    private static func slice(_ item: JSONValue?, _ indexes: [JSONValue?]) throws -> TemplateValue {
        guard let item, item != .null else { throw FunctionFailure("slice of untyped nil") }
        guard indexes.count <= 3 else { throw FunctionFailure("too many slice indexes: \(indexes.count)") }
        let count: Int
        switch item {
        case .string(let text):
            guard indexes.count < 3 else { throw FunctionFailure("cannot 3-index slice a string") }
            count = text.utf8.count
        case .array(let elements): count = elements.count
        default: throw FunctionFailure("can't slice item of type \(GoFormat.typeName(item))")
        }
        var bounds = [0, count, count]
        for (position, index) in indexes.enumerated() { bounds[position] = try Self.position(index, limit: count) }
        guard bounds[0] <= bounds[1] else { throw FunctionFailure("invalid slice index: \(bounds[0]) > \(bounds[1])") }
        if indexes.count == 3, bounds[1] > bounds[2] { throw FunctionFailure("invalid slice index: \(bounds[1]) > \(bounds[2])") }
        switch item {
        case .string(let text): return .json(.string(String(decoding: Array(text.utf8)[bounds[0]..<bounds[1]], as: UTF8.self)))
        case .array(let elements): return .json(.array(Array(elements[bounds[0]..<bounds[1]])))
        default: return .missing
        }
    }

    /// Go's eq for basic values; numbers compare by value whether int or float (JSON does not
    /// keep Go's types, so 2 and 2.0 are the same number here).
    private static func equal(_ left: JSONValue?, _ right: JSONValue?) throws -> Bool {
        switch (left, right) {
        case (nil, _), (_, nil), (.null?, _), (_, .null?):
            return (left ?? .null) == (right ?? .null)
        case (.bool(let a)?, .bool(let b)?): return a == b
        case (.string(let a)?, .string(let b)?): return a == b
        case (.number(let a)?, .number(let b)?): return a == b
        case (.array(let value)?, _), (_, .array(let value)?):
            throw FunctionFailure("non-comparable type \(GoFormat.sprintf("%s", [.array(value)])): []interface {}")
        case (.object(let value)?, _), (_, .object(let value)?):
            throw FunctionFailure("non-comparable type \(GoFormat.sprintf("%s", [.object(value)])): map[string]interface {}")
        default: throw FunctionFailure("incompatible types for comparison")
        }
    }

    private static func less(_ left: JSONValue?, _ right: JSONValue?) throws -> Bool {
        switch (left, right) {
        case (.string(let a)?, .string(let b)?): return Array(a.utf8).lexicographicallyPrecedes(Array(b.utf8))
        case (.number(let a)?, .number(let b)?):
            switch (GoFormat.number(a), GoFormat.number(b)) {
            case (.int(let x), .int(let y)): return x < y
            case (.uint(let x), .uint(let y)): return x < y
            case (.int(let x), .uint(let y)): return x < 0 || UInt64(x) < y
            case (.uint(let x), .int(let y)): return y >= 0 && x < UInt64(y)
            default: return (a.doubleValue ?? 0) < (b.doubleValue ?? 0)
            }
        case (nil, _), (_, nil), (.null?, _), (_, .null?), (.bool?, _), (.array?, _), (.object?, _):
            throw FunctionFailure("invalid type for comparison")
        default: throw FunctionFailure("incompatible types for comparison")
        }
    }

    /// html, js and urlquery take their one string argument, or print all of them as Sprint does.
    private static func escapeArguments(_ values: [JSONValue?]) -> String {
        if values.count == 1, case .string(let text)? = values[0] { return text }
        return GoFormat.sprint(values)
    }

    private static func html(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "&": out += "&amp;"
            case "'": out += "&#39;"
            case "\"": out += "&#34;"
            case "\u{0}": out += "\u{FFFD}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private static func javascript(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "'": out += "\\'"
            case "\"": out += "\\\""
            case "<": out += "\\u003C"
            case ">": out += "\\u003E"
            case "&": out += "\\u0026"
            case "=": out += "\\u003D"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || !GoFormat.isPrintable(scalar) {
                    out += "\\u" + GoFormat.hex(scalar.value, digits: 4).uppercased()
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    private static func urlQuery(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: " "): out += "+"
            default: out += "%" + GoFormat.hex(UInt32(byte), digits: 2).uppercased()
            }
        }
        return out
    }

    /// strings.Split: every piece between separators; an empty separator splits into characters.
    static func split(_ text: String, separator: String) -> [String] {
        if separator.isEmpty { return text.unicodeScalars.map { String(Character($0)) } }
        let bytes = Array(text.utf8)
        let marker = Array(separator.utf8)
        var pieces: [String] = []
        var start = 0
        var index = 0
        while index + marker.count <= bytes.count {
            if Array(bytes[index..<index + marker.count]) == marker {
                pieces.append(String(decoding: bytes[start..<index], as: UTF8.self))
                index += marker.count
                start = index
            } else {
                index += 1
            }
        }
        pieces.append(String(decoding: bytes[start...], as: UTF8.self))
        return pieces
    }

    /// Go's unicode.ToUpper/ToLower/ToTitle, one scalar to one (ß stays ß, as in Go).
    static func mapScalars(_ text: String, _ mapping: (Unicode.Scalar) -> String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            let mapped = mapping(scalar).unicodeScalars
            if mapped.count == 1, let single = mapped.first { out.append(single) } else { out.append(scalar) }
        }
        return String(out)
    }

    /// strings.Title: the first letter of each word in title case; words are split by spaces
    /// and by ASCII characters other than letters, digits and _.
    static func title(_ text: String) -> String {
        var out = ""
        var previous: Unicode.Scalar = " "
        for scalar in text.unicodeScalars {
            let separator: Bool
            if previous.isASCII {
                let isWord =
                    ("a"..."z").contains(previous) || ("A"..."Z").contains(previous) || ("0"..."9").contains(previous) || previous == "_"
                separator = !isWord
            } else {
                separator = previous.properties.isWhitespace
            }
            out += separator ? mapScalars(String(Character(scalar))) { $0.properties.titlecaseMapping } : String(Character(scalar))
            previous = scalar
        }
        return out
    }
}

extension TemplateValue {
    init(_ json: JSONValue?) {
        self = json.map { .json($0) } ?? .missing
    }
}

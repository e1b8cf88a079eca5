#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import JSON

/// Go's fmt for the values a template handles (nil, bool, int, float64, string, []interface{}
/// and map[string]interface{}): `%v` printing, Sprint, Sprintln and Sprintf with its verbs,
/// flags, width and precision, and its `%!verb(type=value)` marks for mistakes.
enum GoFormat {
    /// A JSON number as Go holds it: integer literals as int (uint beyond), others as float64.
    enum Number {
        case int(Int64)
        case uint(UInt64)
        case float(Double)
    }

    static func number(_ value: JSONNumber) -> Number {
        if value.isIntegerLiteral {
            if let int = value.int64Value { return .int(int) }
            if let uint = value.uint64Value { return .uint(uint) }
        }
        return .float(value.doubleValue ?? .nan)
    }

    /// The Go type name of a value, for messages: int, float64, string, []interface {}, ...
    static func typeName(_ value: JSONValue?) -> String {
        guard let value else { return "<nil>" }
        switch value {
        case .null: return "<nil>"
        case .bool: return "bool"
        case .number(let number):
            switch Self.number(number) {
            case .int: return "int"
            case .uint: return "uint64"
            case .float: return "float64"
            }
        case .string: return "string"
        case .array: return "[]interface {}"
        case .object: return "map[string]interface {}"
        }
    }

    /// `%v`: how fmt.Print shows a value (nil as <nil>, maps with sorted keys).
    static func plain(_ value: JSONValue?) -> String {
        var spec = Spec()
        spec.verb = "v"
        var out = ""
        print(value, spec, into: &out)
        return out
    }

    /// fmt.Sprint: operands separated by a space when neither side is a string.
    static func sprint(_ values: [JSONValue?]) -> String {
        var out = ""
        var previousIsString = false
        for (position, value) in values.enumerated() {
            var isString = false
            if case .string = value { isString = true }
            if position > 0 && !isString && !previousIsString { out += " " }
            out += plain(value)
            previousIsString = isString
        }
        return out
    }

    static func sprintln(_ values: [JSONValue?]) -> String {
        values.map(plain).joined(separator: " ") + "\n"
    }

    struct Spec {
        var minus = false, plus = false, sharp = false, space = false, zero = false
        var width: Int?
        var precision: Int?
        var verb: Unicode.Scalar = "v"
    }

    /// fmt.Sprintf.
    static func sprintf(_ format: String, _ arguments: [JSONValue?]) -> String {
        let scalars = Array(format.unicodeScalars)
        var out = ""
        var argument = 0
        var index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            index += 1
            guard scalar == "%" else {
                out.unicodeScalars.append(scalar)
                continue
            }
            var spec = Spec()
            flags: while index < scalars.count {
                switch scalars[index] {
                case "#": spec.sharp = true
                case "0": spec.zero = !spec.minus
                case "+": spec.plus = true
                case "-":
                    spec.minus = true
                    spec.zero = false
                case " ": spec.space = true
                default: break flags
                }
                index += 1
            }
            func digits() -> Int? {
                var value: Int?
                while index < scalars.count, let digit = Int(String(scalars[index])), scalars[index].isASCII {
                    value = (value ?? 0) * 10 + digit
                    index += 1
                }
                return value
            }
            func star() -> Int? {
                guard index < scalars.count, scalars[index] == "*" else { return nil }
                index += 1
                defer { argument += 1 }
                guard argument < arguments.count, case .number(let number)? = arguments[argument],
                    case .int(let value) = Self.number(number)
                else {
                    out += "%!(BADWIDTH)"
                    return nil
                }
                return Int(value)
            }
            spec.width = star() ?? digits()
            if let width = spec.width, width < 0 {
                spec.minus = true
                spec.zero = false
                spec.width = -width
            }
            if index < scalars.count, scalars[index] == "." {
                index += 1
                spec.precision = star() ?? digits() ?? 0
            }
            guard index < scalars.count else {
                out += "%!(NOVERB)"
                break
            }
            spec.verb = scalars[index]
            index += 1
            if spec.verb == "%" {
                out += "%"
                continue
            }
            guard argument < arguments.count else {
                out += "%!\(Character(spec.verb))(MISSING)"
                continue
            }
            print(arguments[argument], spec, into: &out)
            argument += 1
        }
        if argument < arguments.count {
            out += "%!(EXTRA "
            out += arguments[argument...].map { value -> String in
                guard let value, value != .null else { return "<nil>" }
                return typeName(value) + "=" + plain(value)
            }.joined(separator: ", ")
            out += ")"
        }
        return out
    }

    /// One operand under one verb; lists and maps apply the verb to each element.
    static func print(_ value: JSONValue?, _ spec: Spec, into out: inout String) {
        guard let value, value != .null else {
            if spec.verb == "v" || spec.verb == "T" {
                out += pad("<nil>", spec)
            } else {
                out += "%!\(Character(spec.verb))(<nil>)"
            }
            return
        }
        if spec.verb == "T" {
            out += pad(typeName(value), spec)
            return
        }
        switch value {
        case .null: break
        case .bool(let flag):
            guard spec.verb == "v" || spec.verb == "t" else { return bad(value, spec, into: &out) }
            out += pad(flag ? "true" : "false", spec)
        case .number(let number):
            switch Self.number(number) {
            case .int(let int): integer(int < 0, int.magnitude, value, spec, into: &out)
            case .uint(let uint): integer(false, uint, value, spec, into: &out)
            case .float(let double): float(double, value, spec, into: &out)
            }
        case .string(let text): string(text, value, spec, into: &out)
        case .array(let elements):
            out += "["
            for (position, element) in elements.enumerated() {
                if position > 0 { out += " " }
                if element == .null {
                    out += "<nil>"  // Go writes a nil element without padding
                } else {
                    print(element, spec, into: &out)
                }
            }
            out += "]"
        case .object(let members):
            out += "map["
            for (position, member) in sortedMembers(members).enumerated() {
                if position > 0 { out += " " }
                print(.string(member.key), spec, into: &out)
                out += ":"
                if member.value == .null {
                    out += "<nil>"
                } else {
                    print(member.value, spec, into: &out)
                }
            }
            out += "]"
        }
    }

    /// Members by key as Go sorts map keys (byte order), the last of a repeated key winning.
    static func sortedMembers(_ members: [(key: String, value: JSONValue)]) -> [(key: String, value: JSONValue)] {
        var latest: [String: JSONValue] = [:]
        for member in members { latest[member.key] = member.value }
        return latest.sorted { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }.map { (key: $0.key, value: $0.value) }
    }

    private static func bad(_ value: JSONValue, _ spec: Spec, into out: inout String) {
        out += "%!\(Character(spec.verb))(\(typeName(value))="
        var inner = spec
        inner.verb = "v"
        inner.sharp = false
        print(value, inner, into: &out)
        out += ")"
    }

    /// Width padding: spaces (or zeros with the 0 flag) on the left, or on the right with -.
    static func pad(_ text: String, _ spec: Spec) -> String {
        guard let width = spec.width else { return text }
        let count = text.unicodeScalars.count
        guard width > count else { return text }
        let padding = String(repeating: spec.zero && !spec.minus ? "0" : " ", count: width - count)
        return spec.minus ? text + padding : padding + text
    }

    private static func string(_ text: String, _ value: JSONValue, _ spec: Spec, into out: inout String) {
        var text = text
        if let precision = spec.precision, text.unicodeScalars.count > precision {
            text = String(String.UnicodeScalarView(text.unicodeScalars.prefix(precision)))
        }
        switch spec.verb {
        case "v" where spec.sharp: out += pad(quote(text), spec)
        case "v", "s": out += pad(text, spec)
        case "q":
            if spec.sharp && !text.contains("`") && text.unicodeScalars.allSatisfy({ $0 == "\t" || ($0.value >= 0x20 && $0.value != 0x7F) })
            {
                out += pad("`" + text + "`", spec)
            } else {
                out += pad(quote(text, asciiOnly: spec.plus), spec)
            }
        case "x", "X":
            var bytes = Array(text.utf8)
            if let precision = spec.precision { bytes = Array(bytes.prefix(precision)) }
            let digits = spec.verb == "x" ? "0123456789abcdef" : "0123456789ABCDEF"
            var hex = ""
            for (position, byte) in bytes.enumerated() {
                if spec.space && position > 0 { hex += " " }
                if spec.sharp && (spec.space || position == 0) { hex += spec.verb == "x" ? "0x" : "0X" }
                hex.append(digits[digits.index(digits.startIndex, offsetBy: Int(byte >> 4))])
                hex.append(digits[digits.index(digits.startIndex, offsetBy: Int(byte & 15))])
            }
            out += pad(hex, spec)
        default: bad(value, spec, into: &out)
        }
    }

    /// strconv.Quote (or QuoteToASCII): Go-syntax double-quoted string.
    static func quote(_ text: String, asciiOnly: Bool = false, quote mark: Unicode.Scalar = "\"") -> String {
        var out = String(Character(mark))
        for scalar in text.unicodeScalars {
            switch scalar {
            case mark, "\\": out += "\\" + String(Character(scalar))
            case "\u{07}": out += "\\a"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{0B}": out += "\\v"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += "\\x" + hex(scalar.value, digits: 2)
                } else if scalar.value >= 0x80 && (asciiOnly || !isPrintable(scalar)) {
                    out += scalar.value > 0xFFFF ? "\\U" + hex(scalar.value, digits: 8) : "\\u" + hex(scalar.value, digits: 4)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + String(Character(mark))
    }

    static func isPrintable(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator: return false
        case .spaceSeparator: return scalar == " "
        default: return true
        }
    }

    static func hex(_ value: UInt32, digits: Int) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }

    private static func integer(_ negative: Bool, _ magnitude: UInt64, _ value: JSONValue, _ spec: Spec, into out: inout String) {
        let base: Int
        var prefix = ""
        switch spec.verb {
        case "v", "d": base = 10
        case "b":
            base = 2
            if spec.sharp { prefix = "0b" }
        case "o", "O":
            base = 8
            if spec.verb == "O" { prefix = "0o" } else if spec.sharp { prefix = "0" }
        case "x", "X":
            base = 16
            if spec.sharp { prefix = spec.verb == "x" ? "0x" : "0X" }
        case "c":
            out += pad(Unicode.Scalar(UInt32(truncatingIfNeeded: magnitude)).map { String(Character($0)) } ?? "\u{FFFD}", spec)
            return
        case "q":
            let scalar = Unicode.Scalar(UInt32(truncatingIfNeeded: magnitude)) ?? "\u{FFFD}"
            out += pad(quote(String(Character(scalar)), asciiOnly: spec.plus, quote: "'"), spec)
            return
        case "U":
            var text = "U+" + hex(UInt32(truncatingIfNeeded: magnitude), digits: 4).uppercased()
            if spec.sharp, let scalar = Unicode.Scalar(UInt32(truncatingIfNeeded: magnitude)), isPrintable(scalar) {
                text += " '\(Character(scalar))'"
            }
            out += pad(text, spec)
            return
        default:
            return bad(value, spec, into: &out)
        }
        var digits = String(magnitude, radix: base, uppercase: spec.verb == "X")
        if spec.precision == 0 && magnitude == 0 { digits = "" }
        let sign = negative ? "-" : spec.plus ? "+" : spec.space ? " " : ""
        var minimum = spec.precision ?? 0
        if spec.precision == nil, spec.zero, !spec.minus, let width = spec.width {
            minimum = width - sign.count - prefix.count
        }
        if digits.count < minimum { digits = String(repeating: "0", count: minimum - digits.count) + digits }
        var plainSpec = spec
        plainSpec.zero = false
        out += pad(sign + prefix + digits, plainSpec)
    }

    private static func float(_ double: Double, _ value: JSONValue, _ spec: Spec, into out: inout String) {
        var verb = spec.verb
        let precision = spec.precision
        switch verb {
        case "v":
            verb = "g"  // with the precision if one is given
        case "g", "G", "e", "E", "f", "F", "x", "X": break
        default: return bad(value, spec, into: &out)
        }
        var body: String
        let magnitude = double.magnitude
        if double.isNaN {
            body = "NaN"
        } else if double.isInfinite {
            body = "Inf"
        } else if (verb == "g" || verb == "G") && precision == nil {
            body = shortest(magnitude)
            if verb == "G" { body = body.uppercased() }
        } else {
            // C's defaults are Go's: precision 6 for %e and %f, the shortest exact form for %a.
            let conversion = verb == "F" ? "f" : verb == "x" ? "a" : verb == "X" ? "A" : String(Character(verb))
            body = cFormat("%" + (precision.map { ".\($0)" } ?? "") + conversion, magnitude)
            if verb == "x" || verb == "X", let p = body.lastIndex(where: { $0 == "p" || $0 == "P" }) {
                // Go writes the binary exponent with at least two digits: 0x1.cp+01.
                let sign = body.index(after: p)
                let digits = body[body.index(after: sign)...]
                if digits.count < 2 { body = String(body[...sign]) + "0" + digits }
            }
        }
        if spec.sharp, spec.verb != "v", !body.contains("."), verb != "x", verb != "X" {
            if let e = body.firstIndex(where: { $0 == "e" || $0 == "E" }) {
                body.insert(".", at: e)
            } else {
                body += "."
            }
        }
        let sign = double.sign == .minus && !double.isNaN ? "-" : spec.plus ? "+" : spec.space ? " " : ""
        if spec.zero, !spec.minus, double.isFinite, let width = spec.width, width > sign.count + body.count {
            body = String(repeating: "0", count: width - sign.count - body.count) + body
        }
        var plainSpec = spec
        plainSpec.zero = false
        out += pad(sign + body, plainSpec)
    }

    /// C's printf for one double (glibc rounds exactly, as Go's strconv does).
    private static func cFormat(_ format: String, _ value: Double) -> String {
        var buffer = [CChar](repeating: 0, count: 512)
        let count = withVaList([value]) { vsnprintf(&buffer, buffer.count, format, $0) }
        guard count >= 0 else { return "" }
        if Int(count) >= buffer.count {
            buffer = [CChar](repeating: 0, count: Int(count) + 1)
            _ = withVaList([value]) { vsnprintf(&buffer, buffer.count, format, $0) }
        }
        return String(decoding: buffer.prefix(Int(count)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Go's %v for a non-negative float64: the shortest digits that read back, in %e form when
    /// the decimal exponent is below -4 or 6 and above (1e+06, 1e-05, 123456).
    static func shortest(_ value: Double) -> String {
        if value == 0 { return "0" }
        // Swift's description has the shortest round-tripping digits; take them apart.
        let text = value.description
        var mantissa = Substring(text)
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = text[..<e]
            exponent = Int(text[text.index(after: e)...]) ?? 0
        }
        let parts = mantissa.split(separator: ".", omittingEmptySubsequences: false)
        let integerPart = String(parts[0])
        let fraction = parts.count > 1 ? String(parts[1]) : ""
        var digits = Array(integerPart + fraction)
        var point = integerPart.count + exponent  // digits before the decimal point
        while digits.first == "0" && digits.count > 1 {
            digits.removeFirst()
            point -= 1
        }
        while digits.last == "0" && digits.count > 1 { digits.removeLast() }
        let decimalExponent = point - 1
        if decimalExponent < -4 || decimalExponent >= 6 {
            var out = String(digits[0])
            if digits.count > 1 { out += "." + String(digits[1...]) }
            let magnitude = abs(decimalExponent)
            out += (decimalExponent < 0 ? "e-" : "e+") + (magnitude < 10 ? "0" : "") + String(magnitude)
            return out
        }
        if point <= 0 { return "0." + String(repeating: "0", count: -point) + String(digits) }
        if point >= digits.count { return String(digits) + String(repeating: "0", count: point - digits.count) }
        return String(digits[..<point]) + "." + String(digits[point...])
    }
}

/// A strict RFC 8259 parser from UTF-8 bytes to `JSONValue`.
///
/// It exists because the runtime reads untrusted config.json files and must reject anything that
/// is not JSON with a precise error, never crash: nesting is limited (hostile input cannot exhaust
/// the stack), strings must be valid UTF-8 with control characters escaped, surrogate escapes must
/// pair up, and numbers follow the grammar exactly (no leading zeros, no trailing commas anywhere).
/// Duplicate object keys are accepted; the last value wins and keeps the first key's position.
public struct JSONParser: Sendable {
    /// The deepest nesting of arrays and objects accepted.
    public var maxDepth: Int

    public init(maxDepth: Int = 512) {
        self.maxDepth = maxDepth
    }

    /// Parses one complete JSON text; whitespace may surround it, nothing else may follow it.
    public func parse(_ bytes: [UInt8]) throws(JSONError) -> JSONValue {
        let result: Result<JSONValue, JSONError> = bytes.withUnsafeBufferPointer { buffer in
            var state = ParserState(bytes: buffer, maxDepth: maxDepth)
            do throws(JSONError) {
                return .success(try state.parseDocument())
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}

/// The cursor and scratch space of one parse.
struct ParserState {
    let bytes: UnsafeBufferPointer<UInt8>
    let maxDepth: Int
    var position = 0
    /// Reused buffer for strings that contain escapes.
    var scratch: [UInt8] = []

    init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    mutating func parseDocument() throws(JSONError) -> JSONValue {
        let value = try parseValue(depth: 0)
        skipWhitespace()
        if position < bytes.count { throw fail(.trailingData) }
        return value
    }

    // MARK: - Values

    mutating func parseValue(depth: Int) throws(JSONError) -> JSONValue {
        skipWhitespace()
        guard position < bytes.count else { throw fail(.unexpectedEnd(expected: "a value")) }
        switch bytes[position] {
        case ByteClass.openBrace: return try parseObject(depth: depth + 1)
        case ByteClass.openBracket: return try parseArray(depth: depth + 1)
        case ByteClass.quote: return .string(try parseString())
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            return .null
        case ByteClass.minus, ByteClass.zero...ByteClass.nine: return .number(try parseNumber())
        case let byte: throw fail(.unexpectedByte(byte, expected: "a value"))
        }
    }

    mutating func parseObject(depth: Int) throws(JSONError) -> JSONValue {
        if depth > maxDepth { throw fail(.tooDeep(limit: maxDepth)) }
        position += 1
        var members = ObjectBuilder()
        skipWhitespace()
        if try peek(expected: "an object key or '}'") == ByteClass.closeBrace {
            position += 1
            return .object([])
        }
        while true {
            guard try peek(expected: "an object key") == ByteClass.quote else {
                throw fail(.unexpectedByte(bytes[position], expected: "'\"' to start an object key"))
            }
            let key = try parseString()
            skipWhitespace()
            try expect(ByteClass.colon, "':' after object key")
            let value = try parseValue(depth: depth)
            members.set(key, value)
            skipWhitespace()
            switch try peek(expected: "',' or '}' after object member") {
            case ByteClass.comma:
                position += 1
                skipWhitespace()
                if try peek(expected: "an object key") == ByteClass.closeBrace { throw fail(.trailingComma) }
            case ByteClass.closeBrace:
                position += 1
                return .object(members.members)
            case let byte:
                throw fail(.unexpectedByte(byte, expected: "',' or '}' after object member"))
            }
        }
    }

    mutating func parseArray(depth: Int) throws(JSONError) -> JSONValue {
        if depth > maxDepth { throw fail(.tooDeep(limit: maxDepth)) }
        position += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if try peek(expected: "a value or ']'") == ByteClass.closeBracket {
            position += 1
            return .array([])
        }
        while true {
            elements.append(try parseValue(depth: depth))
            skipWhitespace()
            switch try peek(expected: "',' or ']' after array element") {
            case ByteClass.comma:
                position += 1
                skipWhitespace()
                if try peek(expected: "a value") == ByteClass.closeBracket { throw fail(.trailingComma) }
            case ByteClass.closeBracket:
                position += 1
                return .array(elements)
            case let byte:
                throw fail(.unexpectedByte(byte, expected: "',' or ']' after array element"))
            }
        }
    }

    mutating func expectLiteral(_ literal: StaticString) throws(JSONError) {
        let count = literal.utf8CodeUnitCount
        let start = literal.utf8Start
        for offset in 0..<count {
            let wanted = start[offset]
            guard position < bytes.count else {
                throw fail(.unexpectedEnd(expected: "'\(literal)'"))
            }
            guard bytes[position] == wanted else {
                throw fail(.unexpectedByte(bytes[position], expected: "'\(literal)'"))
            }
            position += 1
        }
    }

    // MARK: - Numbers

    mutating func parseNumber() throws(JSONError) -> JSONNumber {
        let start = position
        if bytes[position] == ByteClass.minus { position += 1 }
        guard position < bytes.count else { throw fail(.unexpectedEnd(expected: "a digit")) }
        if bytes[position] == ByteClass.zero {
            position += 1
            if position < bytes.count, ByteClass.isDigit(bytes[position]) { throw fail(.leadingZero) }
        } else {
            try digits(expected: "a digit")
        }
        if position < bytes.count, bytes[position] == ByteClass.dot {
            position += 1
            try digits(expected: "a digit after '.'")
        }
        if position < bytes.count, bytes[position] | 0x20 == UInt8(ascii: "e") {
            position += 1
            if position < bytes.count, bytes[position] == ByteClass.plus || bytes[position] == ByteClass.minus {
                position += 1
            }
            try digits(expected: "a digit in the exponent")
        }
        return JSONNumber(uncheckedText: String(decoding: slice(start, position), as: UTF8.self))
    }

    /// Consumes one or more digits.
    mutating func digits(expected: String) throws(JSONError) {
        guard position < bytes.count else { throw fail(.unexpectedEnd(expected: expected)) }
        guard ByteClass.isDigit(bytes[position]) else {
            throw fail(.unexpectedByte(bytes[position], expected: expected))
        }
        repeat { position += 1 } while position < bytes.count && ByteClass.isDigit(bytes[position])
    }

    // MARK: - Helpers

    @inline(__always)
    mutating func skipWhitespace() {
        while position < bytes.count && ByteClass.isWhitespace(bytes[position]) { position += 1 }
    }

    /// The current byte, or an end-of-input error naming what was expected.
    @inline(__always)
    func peek(expected: String) throws(JSONError) -> UInt8 {
        guard position < bytes.count else { throw fail(.unexpectedEnd(expected: expected)) }
        return bytes[position]
    }

    mutating func expect(_ byte: UInt8, _ expected: String) throws(JSONError) {
        guard try peek(expected: expected) == byte else {
            throw fail(.unexpectedByte(bytes[position], expected: expected))
        }
        position += 1
    }

    func slice(_ start: Int, _ end: Int) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(rebasing: bytes[start..<end])
    }

    func fail(_ reason: JSONError.Reason) -> JSONError {
        JSONError(offset: min(position, bytes.count), reason: reason)
    }
}

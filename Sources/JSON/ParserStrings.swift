/// String literals: escapes, surrogate pairs and UTF-8 validation.
extension ParserState {
    /// Parses a string starting at its opening quote.
    mutating func parseString() throws(JSONError) -> String {
        position += 1
        var segmentStart = position
        var escaped = false
        while true {
            guard position < bytes.count else { throw fail(.unexpectedEnd(expected: "'\"' to close the string")) }
            let byte = bytes[position]
            if byte == ByteClass.quote {
                let result: String
                if escaped {
                    scratch.append(contentsOf: slice(segmentStart, position))
                    result = String(decoding: scratch, as: UTF8.self)
                } else {
                    result = String(decoding: slice(segmentStart, position), as: UTF8.self)
                }
                position += 1
                return result
            } else if byte == ByteClass.backslash {
                if !escaped {
                    escaped = true
                    scratch.removeAll(keepingCapacity: true)
                }
                scratch.append(contentsOf: slice(segmentStart, position))
                try parseEscape()
                segmentStart = position
            } else if byte < 0x20 {
                throw fail(.controlCharacterInString(byte))
            } else if byte < 0x80 {
                position += 1
            } else {
                try validateUTF8Sequence()
            }
        }
    }

    /// Decodes one escape sequence at the backslash into `scratch`.
    mutating func parseEscape() throws(JSONError) {
        position += 1
        guard position < bytes.count else { throw fail(.unexpectedEnd(expected: "an escape sequence")) }
        let byte = bytes[position]
        let simple: UInt8
        switch byte {
        case ByteClass.quote, ByteClass.backslash, UInt8(ascii: "/"): simple = byte
        case UInt8(ascii: "b"): simple = 0x08
        case UInt8(ascii: "f"): simple = 0x0C
        case UInt8(ascii: "n"): simple = 0x0A
        case UInt8(ascii: "r"): simple = 0x0D
        case UInt8(ascii: "t"): simple = 0x09
        case UInt8(ascii: "u"):
            try parseUnicodeEscape()
            return
        default:
            throw fail(.invalidEscape(byte))
        }
        scratch.append(simple)
        position += 1
    }

    /// Decodes `\uXXXX` (and its low-surrogate partner) at the `u`.
    mutating func parseUnicodeEscape() throws(JSONError) {
        let escapeStart = position - 1
        position += 1
        let first = try hexQuad()
        var scalarValue = first
        if (0xD800...0xDBFF).contains(first) {
            guard position + 1 < bytes.count, bytes[position] == ByteClass.backslash,
                bytes[position + 1] == UInt8(ascii: "u")
            else {
                throw JSONError(offset: escapeStart, reason: .loneSurrogate)
            }
            position += 2
            let second = try hexQuad()
            guard (0xDC00...0xDFFF).contains(second) else {
                throw JSONError(offset: escapeStart, reason: .loneSurrogate)
            }
            scalarValue = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
        } else if (0xDC00...0xDFFF).contains(first) {
            throw JSONError(offset: escapeStart, reason: .loneSurrogate)
        }
        appendUTF8(scalarValue)
    }

    /// Appends a Unicode scalar value (never a surrogate) to `scratch` as UTF-8.
    mutating func appendUTF8(_ value: UInt32) {
        switch value {
        case 0..<0x80:
            scratch.append(UInt8(value))
        case 0x80..<0x800:
            scratch.append(UInt8(0xC0 | value >> 6))
            scratch.append(UInt8(0x80 | value & 0x3F))
        case 0x800..<0x10000:
            scratch.append(UInt8(0xE0 | value >> 12))
            scratch.append(UInt8(0x80 | value >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | value & 0x3F))
        default:
            scratch.append(UInt8(0xF0 | value >> 18))
            scratch.append(UInt8(0x80 | value >> 12 & 0x3F))
            scratch.append(UInt8(0x80 | value >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | value & 0x3F))
        }
    }

    /// Four hexadecimal digits as a UTF-16 code unit.
    mutating func hexQuad() throws(JSONError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard position < bytes.count else { throw fail(.unexpectedEnd(expected: "four hexadecimal digits")) }
            guard let digit = ByteClass.hexValue(bytes[position]) else { throw fail(.invalidUnicodeEscape) }
            value = value << 4 | digit
            position += 1
        }
        return value
    }

    /// Checks one multi-byte UTF-8 sequence at `position` (Unicode Table 3-7: no overlong forms,
    /// no surrogates, nothing above U+10FFFF) and steps over it.
    mutating func validateUTF8Sequence() throws(JSONError) {
        let lead = bytes[position]
        let length: Int
        var secondRange: ClosedRange<UInt8> = 0x80...0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0:
            length = 3
            secondRange = 0xA0...0xBF
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED:
            length = 3
            secondRange = 0x80...0x9F
        case 0xF0:
            length = 4
            secondRange = 0x90...0xBF
        case 0xF1...0xF3: length = 4
        case 0xF4:
            length = 4
            secondRange = 0x80...0x8F
        default: throw fail(.invalidUTF8)
        }
        guard position + length <= bytes.count else { throw fail(.invalidUTF8) }
        guard secondRange.contains(bytes[position + 1]) else { throw fail(.invalidUTF8) }
        for offset in 2..<length where bytes[position + offset] & 0xC0 != 0x80 {
            throw fail(.invalidUTF8)
        }
        position += length
    }
}

import Testing
@testable import JSON

private func parse(_ text: String) throws(JSONError) -> JSONValue {
    try JSONValue.parse(Array(text.utf8))
}

/// The reason the parser gives for `text`, or nil if it accepts it.
private func rejection(_ text: String) -> JSONError? {
    do {
        _ = try parse(text)
        return nil
    } catch {
        return error
    }
}

@Suite struct ParserAcceptanceTests {
    @Test func parsesEveryKindOfValue() throws {
        let value = try parse(#" {"a": [1, -2.5, 3e2, true, false, null], "b": {"c": "d"}, "e": ""} "#)
        #expect(
            value
                == .object([
                    (
                        "a",
                        .array([
                            .number(JSONNumber(1)), .number(JSONNumber(uncheckedText: "-2.5")),
                            .number(JSONNumber(uncheckedText: "3e2")), .bool(true), .bool(false), .null,
                        ])
                    ),
                    ("b", .object([("c", .string("d"))])),
                    ("e", .string("")),
                ]))
    }

    @Test func keepsObjectKeyOrder() throws {
        guard case .object(let members) = try parse(#"{"z":1,"a":2,"m":3}"#) else {
            Issue.record("not an object")
            return
        }
        #expect(members.map(\.key) == ["z", "a", "m"])
    }

    @Test func duplicateKeysLastWinsAtFirstPosition() throws {
        guard case .object(let members) = try parse(#"{"a":1,"b":2,"a":3}"#) else {
            Issue.record("not an object")
            return
        }
        #expect(members.map(\.key) == ["a", "b"])
        #expect(members[0].value == .number(JSONNumber(3)))
    }

    @Test func duplicateKeysInLargeObjects() throws {
        let keys = (0..<40).map { #""k\#($0)":\#($0)"# }.joined(separator: ",")
        let value = try parse("{" + keys + #","k7":"last"}"#)
        guard case .object(let members) = value else {
            Issue.record("not an object")
            return
        }
        #expect(members.count == 40)
        #expect(value["k7"] == .string("last"))
    }

    @Test func acceptsScalarDocuments() throws {
        #expect(try parse("null") == .null)
        #expect(try parse(" 0 ") == .number(JSONNumber(0)))
        #expect(try parse(#""x""#) == .string("x"))
        #expect(try parse("-0") == .number(JSONNumber(0)))
    }

    @Test func decodesEscapes() throws {
        #expect(try parse(#""\"\\\/\b\f\n\r\t""#) == .string("\"\\/\u{8}\u{c}\n\r\t"))
        #expect(try parse(#""\u0041\u00e9\u20AC""#) == .string("Aé€"))
        #expect(try parse(#""\ud83d\ude00 smile""#) == .string("😀 smile"))
        #expect(try parse(#""a\u0000b""#) == .string("a\u{0}b"))
    }

    @Test func acceptsRawUTF8() throws {
        #expect(try parse("\"héllo 世界 😀\"") == .string("héllo 世界 😀"))
    }

    @Test func keepsIntegerLiteralsExactly() throws {
        let value = try parse("[18446744073709551615, -9223372036854775808, 123456789012345678901234567890]")
        guard case .array(let elements) = value,
            case .number(let max) = elements[0], case .number(let min) = elements[1],
            case .number(let huge) = elements[2]
        else {
            Issue.record("unexpected shape")
            return
        }
        #expect(max.uint64Value == UInt64.max)
        #expect(max.int64Value == nil)
        #expect(min.int64Value == Int64.min)
        #expect(huge.text == "123456789012345678901234567890")
        #expect(huge.uint64Value == nil)
    }

    @Test func numberEqualityIsByValue() {
        #expect(JSONNumber(uncheckedText: "1.0") == JSONNumber(1))
        #expect(JSONNumber(uncheckedText: "1e2") == JSONNumber(100))
        #expect(JSONNumber(uncheckedText: "18446744073709551615") != JSONNumber(uncheckedText: "18446744073709551614"))
        #expect(JSONNumber(text: "01") == nil)
        #expect(JSONNumber(text: " 1") == nil)
        #expect(JSONNumber(text: "-1.5e-3")?.doubleValue == -0.0015)
    }

    @Test func nestingUpToTheLimitIsAccepted() throws {
        let text = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        _ = try parse(text)
        let parser = JSONParser(maxDepth: 3)
        #expect(throws: JSONError.self) { try parser.parse(Array("[[[[]]]]".utf8)) }
    }
}

@Suite struct ParserRejectionTests {
    @Test(arguments: [
        ("[1,2,]", JSONError(offset: 5, reason: .trailingComma)),
        (#"{"a":1,}"#, JSONError(offset: 7, reason: .trailingComma)),
        ("[01]", JSONError(offset: 2, reason: .leadingZero)),
        ("-01", JSONError(offset: 2, reason: .leadingZero)),
        ("[1.]", JSONError(offset: 3, reason: .unexpectedByte(UInt8(ascii: "]"), expected: "a digit after '.'"))),
        ("1e", JSONError(offset: 2, reason: .unexpectedEnd(expected: "a digit in the exponent"))),
        ("-", JSONError(offset: 1, reason: .unexpectedEnd(expected: "a digit"))),
        ("+1", JSONError(offset: 0, reason: .unexpectedByte(UInt8(ascii: "+"), expected: "a value"))),
        (".5", JSONError(offset: 0, reason: .unexpectedByte(UInt8(ascii: "."), expected: "a value"))),
        ("\"a\u{1}b\"", JSONError(offset: 2, reason: .controlCharacterInString(1))),
        ("\"tab\there\"", JSONError(offset: 4, reason: .controlCharacterInString(9))),
        (#""\ud800""#, JSONError(offset: 1, reason: .loneSurrogate)),
        (#""\udc00""#, JSONError(offset: 1, reason: .loneSurrogate)),
        (#""\ud800\u0041""#, JSONError(offset: 1, reason: .loneSurrogate)),
        (#""\x""#, JSONError(offset: 2, reason: .invalidEscape(UInt8(ascii: "x")))),
        (#""\u12G4""#, JSONError(offset: 5, reason: .invalidUnicodeEscape)),
        (#"{"a" 1}"#, JSONError(offset: 5, reason: .unexpectedByte(UInt8(ascii: "1"), expected: "':' after object key"))),
        ("{a:1}", JSONError(offset: 1, reason: .unexpectedByte(UInt8(ascii: "a"), expected: "'\"' to start an object key"))),
        ("[1 2]", JSONError(offset: 3, reason: .unexpectedByte(UInt8(ascii: "2"), expected: "',' or ']' after array element"))),
        ("[1] x", JSONError(offset: 4, reason: .trailingData)),
        ("tru", JSONError(offset: 3, reason: .unexpectedEnd(expected: "'true'"))),
        ("nul1", JSONError(offset: 3, reason: .unexpectedByte(UInt8(ascii: "1"), expected: "'null'"))),
        ("", JSONError(offset: 0, reason: .unexpectedEnd(expected: "a value"))),
        ("   ", JSONError(offset: 3, reason: .unexpectedEnd(expected: "a value"))),
        ("NaN", JSONError(offset: 0, reason: .unexpectedByte(UInt8(ascii: "N"), expected: "a value"))),
        ("'a'", JSONError(offset: 0, reason: .unexpectedByte(UInt8(ascii: "'"), expected: "a value"))),
    ])
    func rejectsMalformedText(text: String, expected: JSONError) {
        #expect(rejection(text) == expected)
    }

    @Test func rejectsTruncatedInput() {
        let document = #"{"ociVersion": "1.0.2", "process": {"args": ["sh", "-c"], "env": ["A=\u00e9"]}}"#
        let bytes = Array(document.utf8)
        for length in 0..<bytes.count {
            #expect(throws: JSONError.self) { try JSONValue.parse(Array(bytes[0..<length])) }
        }
        #expect(throws: Never.self) { try JSONValue.parse(bytes) }
    }

    @Test func rejectsInvalidUTF8() {
        let cases: [[UInt8]] = [
            [0x22, 0xFF, 0x22],  // never valid
            [0x22, 0xC0, 0xAF, 0x22],  // overlong '/'
            [0x22, 0xE0, 0x80, 0xAF, 0x22],  // overlong 3-byte
            [0x22, 0xED, 0xA0, 0x80, 0x22],  // UTF-16 surrogate encoded in UTF-8
            [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22],  // above U+10FFFF
            [0x22, 0xC3, 0x22],  // truncated sequence
            [0x22, 0x80, 0x22],  // stray continuation byte
        ]
        for bytes in cases {
            #expect(throws: JSONError(offset: 1, reason: .invalidUTF8)) { try JSONValue.parse(bytes) }
        }
    }

    @Test func depthBombThrowsInsteadOfCrashing() {
        let bomb = [UInt8](repeating: ByteClass.openBracket, count: 100_000)
        #expect(throws: JSONError(offset: 512, reason: .tooDeep(limit: 512))) { try JSONValue.parse(bomb) }
        let objects = Array(String(repeating: #"{"a":"#, count: 100_000).utf8)
        #expect(throws: JSONError.self) { try JSONValue.parse(objects) }
    }

    @Test func errorMessagesNameOffsetAndRule() {
        #expect(
            rejection(#"{"ociVersion" "1.0"}"#)?.description
                == "invalid JSON at byte 14: expected ':' after object key, found '\"'")
        #expect(rejection("[1,2,]")?.description == "invalid JSON at byte 5: trailing comma is not allowed")
        #expect(
            rejection("\"a\nb\"")?.description
                == "invalid JSON at byte 2: control character byte 0x0A in string must be escaped")
        #expect(rejection(#"{"a":"#)?.description == "invalid JSON at byte 5: unexpected end of input, expected a value")
    }
}

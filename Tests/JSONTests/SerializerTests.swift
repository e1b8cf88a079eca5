import Testing
@testable import JSON

private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

@Suite struct SerializerTests {
    let sample: JSONValue = .object([
        ("b", .array([.number(JSONNumber(1)), .bool(true), .null])),
        ("a", .object([("x", .string("y"))])),
        ("empty", .object([])),
        ("none", .array([])),
    ])

    @Test func compactOutput() {
        #expect(text(sample.serialized()) == #"{"b":[1,true,null],"a":{"x":"y"},"empty":{},"none":[]}"#)
    }

    @Test func prettyOutputUsesTwoSpaces() {
        let expected = """
            {
              "b": [
                1,
                true,
                null
              ],
              "a": {
                "x": "y"
              },
              "empty": {},
              "none": []
            }
            """
        #expect(text(sample.serialized(pretty: true)) == expected)
    }

    @Test func sortedKeys() {
        #expect(text(sample.serialized(sortedKeys: true)) == #"{"a":{"x":"y"},"b":[1,true,null],"empty":{},"none":[]}"#)
    }

    @Test func escapesOnlyWhatJSONRequires() {
        let value = JSONValue.string("a/b \"q\" \\ \n\r\t\u{8}\u{c}\u{1}\u{1f} é 😀")
        #expect(text(value.serialized()) == #""a/b \"q\" \\ \n\r\t\b\f\u0001\u001f é 😀""#)
    }

    @Test func serializedTextParsesBackToTheSameValue() throws {
        let document = #"{"k":[1,2.5,-3e-7,"s\u0000",{"n":null}],"u":"\ud83d\ude00"}"#
        let value = try JSONValue.parse(Array(document.utf8))
        #expect(try JSONValue.parse(value.serialized()) == value)
        #expect(try JSONValue.parse(value.serialized(pretty: true)) == value)
    }
}

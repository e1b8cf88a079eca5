import Testing
import JSON

/// Hand-written conformances exercising the container APIs that synthesized code rarely uses.
private class Base: Codable {
    var name: String
    init(name: String) { self.name = name }
}

private final class Derived: Base {
    var size: Int
    init(name: String, size: Int) {
        self.size = size
        super.init(name: name)
    }

    private enum CodingKeys: String, CodingKey { case size }

    required init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        size = try container.decode(Int.self, forKey: .size)
        try super.init(from: container.superDecoder())
    }

    override func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(size, forKey: .size)
        try super.encode(to: container.superEncoder())
    }
}

/// Encodes as `[name, {"x": .., "y": ..}, [tags]]` through nested containers.
private struct Point: Codable, Equatable {
    var name: String
    var x: Int
    var y: Int
    var tags: [String]

    private enum XY: String, CodingKey { case x, y }

    init(name: String, x: Int, y: Int, tags: [String]) {
        (self.name, self.x, self.y, self.tags) = (name, x, y, tags)
    }

    init(from decoder: any Decoder) throws {
        var outer = try decoder.unkeyedContainer()
        #expect(outer.count == 3)
        name = try outer.decode(String.self)
        let xy = try outer.nestedContainer(keyedBy: XY.self)
        x = try xy.decode(Int.self, forKey: .x)
        y = try xy.decode(Int.self, forKey: .y)
        var tagList = try outer.nestedUnkeyedContainer()
        var tags: [String] = []
        while !tagList.isAtEnd { tags.append(try tagList.decode(String.self)) }
        self.tags = tags
        #expect(outer.isAtEnd)
    }

    func encode(to encoder: any Encoder) throws {
        var outer = encoder.unkeyedContainer()
        try outer.encode(name)
        var xy = outer.nestedContainer(keyedBy: XY.self)
        try xy.encode(x, forKey: .x)
        try xy.encode(y, forKey: .y)
        var tagList = outer.nestedUnkeyedContainer()
        for tag in tags { try tagList.encode(tag) }
    }
}

/// Reads every key present, whatever it is, through allKeys/contains/decodeNil.
private struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

private struct KeyInventory: Decodable {
    var keys: [String]
    var nullKeys: [String]
    var hasMissing: Bool

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyKey.self)
        keys = container.allKeys.map(\.stringValue)
        nullKeys = try container.allKeys.filter { try container.decodeNil(forKey: $0) }.map(\.stringValue)
        hasMissing = container.contains(AnyKey(stringValue: "missing"))
    }
}

@Suite struct CustomCodingTests {
    @Test func superEncoderAndSuperDecoder() throws {
        let encoded = try JSONEncoding.encode(Derived(name: "base", size: 3))
        #expect(String(decoding: encoded, as: UTF8.self) == #"{"size":3,"super":{"name":"base"}}"#)
        let decoded = try JSONDecoding.decode(Derived.self, from: encoded)
        #expect(decoded.name == "base")
        #expect(decoded.size == 3)
    }

    @Test func nestedContainersInUnkeyedContainers() throws {
        let point = Point(name: "p", x: -1, y: 2, tags: ["a", "b"])
        let encoded = try JSONEncoding.encode(point)
        #expect(String(decoding: encoded, as: UTF8.self) == #"["p",{"x":-1,"y":2},["a","b"]]"#)
        #expect(try JSONDecoding.decode(Point.self, from: encoded) == point)
    }

    @Test func allKeysContainsAndDecodeNil() throws {
        let inventory = try JSONDecoding.decode(KeyInventory.self, from: Array(#"{"b":null,"a":1,"c":null}"#.utf8))
        #expect(inventory.keys == ["b", "a", "c"])
        #expect(inventory.nullKeys == ["b", "c"])
        #expect(!inventory.hasMissing)
    }

    @Test func decodesFromAParsedValue() throws {
        let value = try JSONValue.parse(Array(#"{"destination":"/x"}"#.utf8))
        #expect(value["destination"] == .string("/x"))
        #expect(try JSONDecoding.decode([String: String].self, from: value) == ["destination": "/x"])
        #expect(try JSONEncoding.encodeValue(["k": [1, 2]]) == .object([("k", .array([.number(JSONNumber(1)), .number(JSONNumber(2))]))]))
    }
}

/// Exercises encoder corners: explicit nulls, re-encoding a key, super encoders in arrays,
/// and reopening a nested container for the same key.
private struct EncoderCorners: Encodable {
    private enum Keys: String, CodingKey { case explicitNull, repeated, list, nested }
    private enum Inner: String, CodingKey { case a, b }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        try container.encodeNil(forKey: .explicitNull)
        try container.encode(1, forKey: .repeated)
        try container.encode("two", forKey: .repeated)
        var list = container.nestedUnkeyedContainer(forKey: .list)
        try list.encode(true)
        let slot = list.superEncoder()
        try list.encode(3)
        var single = slot.singleValueContainer()
        try single.encode("filled later")
        var first = container.nestedContainer(keyedBy: Inner.self, forKey: .nested)
        try first.encode(1, forKey: .a)
        var second = container.nestedContainer(keyedBy: Inner.self, forKey: .nested)
        try second.encode(2, forKey: .b)
    }
}

@Suite struct EncoderCornerTests {
    @Test func encoderCorners() throws {
        let encoded = String(decoding: try JSONEncoding.encode(EncoderCorners()), as: UTF8.self)
        #expect(encoded == #"{"explicitNull":null,"repeated":"two","list":[true,"filled later",3],"nested":{"a":1,"b":2}}"#)
    }

    @Test func topLevelValueThatEncodesNothingIsAnError() {
        #expect(throws: EncodingError.self) { try JSONEncoding.encode(Nothing()) }
    }
}

private struct Nothing: Encodable {
    func encode(to encoder: any Encoder) throws {}
}

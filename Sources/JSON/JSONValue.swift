/// A JSON document held in memory, exactly as parsed.
///
/// It exists so that skiff can read and write JSON (OCI config.json, state.json, image manifests)
/// without Foundation: Foundation's first-use cost and binary size dominate a short-lived
/// runtime process. Objects keep their members in document order; numbers keep their literal
/// text so that 64-bit integers round-trip exactly.
public enum JSONValue: Sendable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    /// Members in document order. The parser never produces duplicate keys (the last one wins).
    case object([(key: String, value: JSONValue)])

    /// Parses a complete UTF-8 JSON text (RFC 8259) with the default nesting limit.
    public static func parse(_ bytes: [UInt8]) throws(JSONError) -> JSONValue {
        try JSONParser().parse(bytes)
    }

    /// The value of the member `key` if this is an object holding it (the last one if repeated).
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.last(where: { $0.key == key })?.value
    }

    /// The element at `index` if this is an array long enough.
    public subscript(index: Int) -> JSONValue? {
        guard case .array(let elements) = self, elements.indices.contains(index) else { return nil }
        return elements[index]
    }

    /// A phrase naming the kind of this value, for error messages ("a string", "an object").
    public var kindDescription: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

extension JSONValue: Equatable {
    /// Structural equality. Objects compare as sets of members (order does not matter);
    /// numbers compare by value (`1`, `1.0` and `1e0` are equal).
    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.number(let a), .number(let b)): return a == b
        case (.string(let a), .string(let b)): return a == b
        case (.array(let a), .array(let b)): return a == b
        case (.object(let a), .object(let b)):
            guard a.count == b.count else { return false }
            for member in a {
                guard let other = b.last(where: { $0.key == member.key }), other.value == member.value else {
                    return false
                }
            }
            return true
        default: return false
        }
    }
}

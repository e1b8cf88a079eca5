/// Encodes `Encodable` values as JSON without Foundation.
///
/// It exists for the same reason as `JSONDecoding`: the runtime writes state.json and
/// `features`/`spec` output on every run and must not pay for Foundation. Nil optionals encoded
/// with `encodeIfPresent` (what synthesized conformances use) leave the key out.
public enum JSONEncoding {
    /// `value` as UTF-8 JSON text; see `JSONValue.serialized(pretty:sortedKeys:)` for the layout.
    ///
    /// - Throws: `EncodingError.invalidValue` for infinite or NaN floating-point numbers, or if
    ///   `value` encodes nothing at all.
    public static func encode<T: Encodable>(_ value: T, pretty: Bool = false, sortedKeys: Bool = false) throws -> [UInt8] {
        try encodeValue(value).serialized(pretty: pretty, sortedKeys: sortedKeys)
    }

    /// `value` as an in-memory `JSONValue`.
    public static func encodeValue<T: Encodable>(_ value: T) throws -> JSONValue {
        let encoder = JSONValueEncoder(path: .root)
        try value.encode(to: encoder)
        guard let node = encoder.storage else {
            throw EncodingError.invalidValue(
                value,
                EncodingError.Context(
                    codingPath: [], debugDescription: "Top-level \(T.self) did not encode any values."))
        }
        return node.jsonValue
    }
}

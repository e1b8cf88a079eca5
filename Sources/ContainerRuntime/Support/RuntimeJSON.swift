import JSON

/// The one place the runtime turns values into JSON and back (config.json, state.json, the
/// init protocol, hook input, CLI output). It uses the project's own Foundation-free codec: the
/// runtime runs several times per container start, and Foundation's first-use cost and size
/// showed in every one of them.
public enum RuntimeJSON {
    public static func encode<T: Encodable>(_ value: T, pretty: Bool = false, sortedKeys: Bool = false) throws -> [UInt8] {
        try JSONEncoding.encode(value, pretty: pretty, sortedKeys: sortedKeys)
    }

    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try JSONDecoding.decode(type, from: bytes)
    }
}

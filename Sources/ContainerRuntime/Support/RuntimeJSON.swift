import FoundationEssentials

/// The one place the runtime turns values into JSON and back (config.json, state.json, the
/// init protocol, hook input, CLI output), so the codec behind it can be swapped in one place.
public enum RuntimeJSON {
    public static func encode<T: Encodable>(_ value: T, pretty: Bool = false, sortedKeys: Bool = false) throws -> [UInt8] {
        let encoder = JSONEncoder()
        var format: JSONEncoder.OutputFormatting = [.withoutEscapingSlashes]
        if pretty { format.insert(.prettyPrinted) }
        if sortedKeys { format.insert(.sortedKeys) }
        encoder.outputFormatting = format
        return Array(try encoder.encode(value))
    }

    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try JSONDecoder().decode(type, from: Data(bytes))
    }
}

/// Decodes `Decodable` types from JSON without Foundation.
///
/// It exists for `skiff-runtime`, which runs several times per container start: Foundation's
/// JSONDecoder costs milliseconds on first use and megabytes of binary. Errors are the standard
/// library's `DecodingError` with the full coding path, so callers can name the bad field.
public enum JSONDecoding {
    /// Parses `bytes` and decodes a `T` from it.
    ///
    /// - Throws: `JSONError` if `bytes` is not valid JSON; `DecodingError` if the JSON does not
    ///   have the shape `T` expects (missing key, wrong type, number out of range).
    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        let value = try JSONValue.parse(bytes)
        return try decode(type, from: value)
    }

    /// Decodes a `T` from an already parsed document.
    public static func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
        try T(from: JSONValueDecoder(value: value, path: .root))
    }

    /// A one-line message for a decoding error that names the field by its path,
    /// e.g. "field 'process.user.uid': expected a number (UInt32) but found a string".
    public static func describe(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, let context):
            return "missing field '\(pathText(context.codingPath + [key]))'"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            let path = pathText(context.codingPath)
            let detail = lowercasedFirst(context.debugDescription)
            return path.isEmpty ? detail : "field '\(path)': \(detail)"
        @unknown default:
            return String(describing: error)
        }
    }

    /// `describe` for a decoding error, the error's own text for anything else (a `JSONError`
    /// says where the text stopped being JSON).
    public static func describe(_ error: any Error) -> String {
        if let decoding = error as? DecodingError { return describe(decoding) }
        return String(describing: error)
    }

    /// "process.args[2]" for the keys process, args, Index 2.
    public static func pathText(_ path: [any CodingKey]) -> String {
        var text = ""
        for key in path {
            if let index = key.intValue, key.stringValue == "Index \(index)" {
                text += "[\(index)]"
            } else {
                if !text.isEmpty { text += "." }
                text += key.stringValue
            }
        }
        return text
    }

    private static func lowercasedFirst(_ text: String) -> String {
        guard let first = text.first else { return text }
        return first.lowercased() + text.dropFirst()
    }
}

/// Why a byte sequence is not valid JSON, and where.
///
/// It exists so that a broken config.json is reported with the byte offset and the grammar rule
/// that failed, e.g. "invalid JSON at byte 17: expected ':' after object key, found '}'".
public struct JSONError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Zero-based offset of the offending byte (the input length for truncated input).
    public let offset: Int
    public let reason: Reason

    public init(offset: Int, reason: Reason) {
        self.offset = offset
        self.reason = reason
    }

    /// The grammar rule that the input broke.
    public enum Reason: Equatable, Sendable {
        case unexpectedEnd(expected: String)
        case unexpectedByte(UInt8, expected: String)
        case trailingComma
        case leadingZero
        case invalidEscape(UInt8)
        case invalidUnicodeEscape
        case loneSurrogate
        case controlCharacterInString(UInt8)
        case invalidUTF8
        case tooDeep(limit: Int)
        case trailingData
    }

    public var description: String {
        "invalid JSON at byte \(offset): \(reasonText)"
    }

    private var reasonText: String {
        switch reason {
        case .unexpectedEnd(let expected):
            return "unexpected end of input, expected \(expected)"
        case .unexpectedByte(let byte, let expected):
            return "expected \(expected), found \(Self.show(byte))"
        case .trailingComma:
            return "trailing comma is not allowed"
        case .leadingZero:
            return "numbers must not have leading zeros"
        case .invalidEscape(let byte):
            return "invalid escape sequence '\\\(Self.printable(byte) ?? "?")' in string"
        case .invalidUnicodeEscape:
            return "\\u must be followed by four hexadecimal digits"
        case .loneSurrogate:
            return "\\u escape is an unpaired UTF-16 surrogate"
        case .controlCharacterInString(let byte):
            return "control character \(Self.show(byte)) in string must be escaped"
        case .invalidUTF8:
            return "string is not valid UTF-8"
        case .tooDeep(let limit):
            return "arrays and objects are nested more than \(limit) levels deep"
        case .trailingData:
            return "unexpected data after the JSON value"
        }
    }

    private static func printable(_ byte: UInt8) -> String? {
        (0x21...0x7E).contains(byte) ? String(UnicodeScalar(byte)) : nil
    }

    private static func show(_ byte: UInt8) -> String {
        if let text = printable(byte) { return "'\(text)'" }
        let hex = String(byte, radix: 16, uppercase: true)
        return "byte 0x" + (hex.count == 1 ? "0" + hex : hex)
    }
}

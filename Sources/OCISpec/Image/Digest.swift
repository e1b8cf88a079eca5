/// A content digest such as `sha256:e3b0c4...`, validated on creation.
///
/// It exists so that every blob, manifest and layer in skiff is named by a checked
/// `algorithm:hex` pair: a malformed digest from a registry or an archive is rejected
/// where it enters, never used as a file name.
public struct Digest: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    /// The hash algorithm (`sha256` or `sha512`).
    public let algorithm: String
    /// The lowercase hex encoding of the hash.
    public let encoded: String

    /// Parses and validates `algorithm:hex`.
    public init(parsing text: String) throws(DigestError) {
        guard let colon = text.firstIndex(of: ":") else { throw DigestError.malformed(text) }
        let algorithm = String(text[..<colon])
        let encoded = String(text[text.index(after: colon)...])
        let expectedLength: Int
        switch algorithm {
        case "sha256": expectedLength = 64
        case "sha512": expectedLength = 128
        default: throw DigestError.unsupportedAlgorithm(text)
        }
        guard encoded.utf8.count == expectedLength,
            encoded.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) })
        else { throw DigestError.malformed(text) }
        self.algorithm = algorithm
        self.encoded = encoded
    }

    /// A sha256 digest from its hex encoding.
    public init(sha256Hex hex: String) throws(DigestError) {
        try self.init(parsing: "sha256:" + hex)
    }

    public var description: String { "\(algorithm):\(encoded)" }

    /// The first 12 hex characters, as `docker images` shows image IDs.
    public var shortID: String { String(encoded.prefix(12)) }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            try self.init(parsing: text)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    public static func < (lhs: Digest, rhs: Digest) -> Bool { lhs.description < rhs.description }
}

/// Why a digest string was rejected.
public enum DigestError: Error, CustomStringConvertible, Equatable, Sendable {
    case malformed(String)
    case unsupportedAlgorithm(String)

    public var description: String {
        switch self {
        case .malformed(let text):
            return "invalid digest '\(text)': expected 'sha256:' followed by 64 lowercase hex digits"
        case .unsupportedAlgorithm(let text):
            return "unsupported digest algorithm in '\(text)': only sha256 and sha512 are supported"
        }
    }
}

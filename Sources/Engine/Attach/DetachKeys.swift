/// docker's detach keys (`--detach-keys "ctrl-p,ctrl-q"`): the byte sequence that, typed on an
/// attached terminal, leaves the container running and ends the attachment.
public struct DetachKeys: Sendable, Equatable {
    public let sequence: [UInt8]

    public static let standard = DetachKeys(sequence: [0x10, 0x11])

    public init(sequence: [UInt8]) { self.sequence = sequence }

    /// docker's syntax: comma-separated keys, each one character or `ctrl-X` with X one of
    /// a-z, @, [, \, ], ^, _. An empty string keeps the default.
    public init(parsing text: String) throws {
        if text.isEmpty {
            self = .standard
            return
        }
        var bytes: [UInt8] = []
        for key in text.split(separator: ",", omittingEmptySubsequences: false) {
            let lower = key.lowercased()
            if lower.hasPrefix("ctrl-"), lower.count == 6, let last = lower.utf8.last {
                switch last {
                case UInt8(ascii: "a")...UInt8(ascii: "z"): bytes.append(last - UInt8(ascii: "a") + 1)
                case UInt8(ascii: "@"): bytes.append(0)
                case UInt8(ascii: "["): bytes.append(27)
                case UInt8(ascii: "\\"): bytes.append(28)
                case UInt8(ascii: "]"): bytes.append(29)
                case UInt8(ascii: "^"): bytes.append(30)
                case UInt8(ascii: "_"): bytes.append(31)
                default: throw Self.invalid(text)
                }
            } else if key.utf8.count == 1, let byte = key.utf8.first {
                bytes.append(byte)
            } else {
                throw Self.invalid(text)
            }
        }
        sequence = bytes
    }

    private static func invalid(_ text: String) -> EngineError {
        .invalidOption(
            "invalid --detach-keys '\(text)': use comma-separated keys such as ctrl-p,ctrl-q (a single character or ctrl-<a-z @ [ \\ ] ^ _>)"
        )
    }
}

/// Finds the detach sequence in typed input: bytes that may start it are held back until the
/// sequence completes (detach) or breaks (they are passed on with the rest), as docker does.
public struct DetachKeyMatcher: Sendable {
    private let sequence: [UInt8]
    private var matched = 0

    public init(_ keys: DetachKeys) { sequence = keys.sequence }

    /// The bytes to pass to the program, and whether the sequence was completed (bytes after it
    /// are dropped).
    public mutating func feed(_ bytes: ArraySlice<UInt8>) -> (forward: [UInt8], detach: Bool) {
        var forward: [UInt8] = []
        guard !sequence.isEmpty else { return (Array(bytes), false) }
        for byte in bytes {
            if byte == sequence[matched] {
                matched += 1
                if matched == sequence.count {
                    matched = 0
                    return (forward, true)
                }
                continue
            }
            if matched > 0 {
                forward.append(contentsOf: sequence[0..<matched])
                matched = 0
                if byte == sequence[0] {
                    matched = 1
                    continue
                }
            }
            forward.append(byte)
        }
        return (forward, false)
    }
}

/// A JSON number kept as its literal text.
///
/// Keeping the text (rather than converting to `Double` at parse time) lets 64-bit integers such
/// as UInt64.max round-trip exactly and lets the decoder range-check into any integer type.
public struct JSONNumber: Sendable, CustomStringConvertible {
    /// The number exactly as written in the document, e.g. `-12`, `0.5`, `1e300`.
    public let text: String

    /// Wraps text already known to follow the JSON number grammar.
    init(uncheckedText text: String) {
        self.text = text
    }

    /// Wraps `text` if it follows the JSON number grammar (RFC 8259 section 6), else nil.
    public init?(text: String) {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty,
            (try? JSONParser().parse(bytes)).map({
                if case .number = $0 { return true } else { return false }
            }) == true, bytes.allSatisfy({ !ByteClass.isWhitespace($0) })
        else { return nil }
        self.text = text
    }

    public init(_ value: Int) { text = String(value) }
    public init(_ value: Int64) { text = String(value) }
    public init(_ value: UInt64) { text = String(value) }

    /// The shortest text that reads back as `value`; nil for infinities and NaN, which JSON cannot hold.
    public init?(_ value: Double) {
        guard value.isFinite else { return nil }
        text = value.description
    }

    public var description: String { text }

    /// True when the text has no fraction and no exponent.
    public var isIntegerLiteral: Bool {
        !text.utf8.contains(where: { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") })
    }

    /// The value as `I` if it is an integer that fits (`2.0` and `2e0` count as the integer 2).
    public func integer<I: FixedWidthInteger>(as type: I.Type = I.self) -> I? {
        if isIntegerLiteral {
            // Swift's integer parser rejects "-0" for unsigned types; JSON means zero.
            if text == "-0" { return 0 }
            return I(text, radix: 10)
        }
        guard let double = Double(text), double.isFinite else { return nil }
        return I(exactly: double)
    }

    public var int64Value: Int64? { integer(as: Int64.self) }
    public var uint64Value: UInt64? { integer(as: UInt64.self) }

    /// The nearest `Double`; nil if the magnitude is too large to be finite.
    public var doubleValue: Double? {
        guard let double = Double(text), double.isFinite else { return nil }
        return double
    }
}

extension JSONNumber: Equatable {
    /// Numbers are equal when they denote the same value; integers compare exactly.
    public static func == (lhs: JSONNumber, rhs: JSONNumber) -> Bool {
        if lhs.text == rhs.text { return true }
        if let a = lhs.int64Value, let b = rhs.int64Value { return a == b }
        if let a = lhs.uint64Value, let b = rhs.uint64Value { return a == b }
        if lhs.isIntegerLiteral && rhs.isIntegerLiteral { return false }
        if let a = lhs.doubleValue, let b = rhs.doubleValue { return a == b }
        return false
    }
}

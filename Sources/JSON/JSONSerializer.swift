/// Writing a `JSONValue` as UTF-8 JSON text.
extension JSONValue {
    /// This value as JSON text. Compact unless `pretty` (two-space indentation, `"key": value`);
    /// object members in document order unless `sortedKeys`. "/" is not escaped; control
    /// characters, quotes and backslashes are; other characters are written as UTF-8.
    public func serialized(pretty: Bool = false, sortedKeys: Bool = false) -> [UInt8] {
        var writer = JSONWriter(pretty: pretty, sortedKeys: sortedKeys)
        writer.write(self, indent: 0)
        return writer.output
    }
}

/// Accumulates JSON text for one serialization.
struct JSONWriter {
    let pretty: Bool
    let sortedKeys: Bool
    var output: [UInt8] = []

    init(pretty: Bool, sortedKeys: Bool) {
        self.pretty = pretty
        self.sortedKeys = sortedKeys
        output.reserveCapacity(1024)
    }

    mutating func write(_ value: JSONValue, indent: Int) {
        switch value {
        case .null: output.append(contentsOf: "null".utf8)
        case .bool(let flag): output.append(contentsOf: (flag ? "true" : "false").utf8)
        case .number(let number): output.append(contentsOf: number.text.utf8)
        case .string(let string): writeString(string)
        case .array(let elements): writeArray(elements, indent: indent)
        case .object(let members): writeObject(members, indent: indent)
        }
    }

    mutating func writeArray(_ elements: [JSONValue], indent: Int) {
        output.append(ByteClass.openBracket)
        guard !elements.isEmpty else {
            output.append(ByteClass.closeBracket)
            return
        }
        for (offset, element) in elements.enumerated() {
            if offset > 0 { output.append(ByteClass.comma) }
            newline(indent + 1)
            write(element, indent: indent + 1)
        }
        newline(indent)
        output.append(ByteClass.closeBracket)
    }

    mutating func writeObject(_ members: [(key: String, value: JSONValue)], indent: Int) {
        output.append(ByteClass.openBrace)
        guard !members.isEmpty else {
            output.append(ByteClass.closeBrace)
            return
        }
        let ordered = sortedKeys ? members.sorted(by: { $0.key < $1.key }) : members
        for (offset, member) in ordered.enumerated() {
            if offset > 0 { output.append(ByteClass.comma) }
            newline(indent + 1)
            writeString(member.key)
            output.append(ByteClass.colon)
            if pretty { output.append(0x20) }
            write(member.value, indent: indent + 1)
        }
        newline(indent)
        output.append(ByteClass.closeBrace)
    }

    @inline(__always)
    mutating func newline(_ indent: Int) {
        guard pretty else { return }
        output.append(0x0A)
        output.append(contentsOf: repeatElement(0x20, count: indent * 2))
    }

    mutating func writeString(_ string: String) {
        output.append(ByteClass.quote)
        var string = string
        string.withUTF8 { bytes in
            // Copy runs of bytes that need no escaping in one go.
            var runStart = 0
            for position in 0..<bytes.count {
                let byte = bytes[position]
                guard byte < 0x20 || byte == ByteClass.quote || byte == ByteClass.backslash else { continue }
                output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<position]))
                writeEscape(byte)
                runStart = position + 1
            }
            output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<bytes.count]))
        }
        output.append(ByteClass.quote)
    }

    mutating func writeEscape(_ byte: UInt8) {
        output.append(ByteClass.backslash)
        switch byte {
        case ByteClass.quote, ByteClass.backslash: output.append(byte)
        case 0x0A: output.append(UInt8(ascii: "n"))
        case 0x0D: output.append(UInt8(ascii: "r"))
        case 0x09: output.append(UInt8(ascii: "t"))
        case 0x08: output.append(UInt8(ascii: "b"))
        case 0x0C: output.append(UInt8(ascii: "f"))
        default:
            output.append(contentsOf: "u00".utf8)
            output.append(Self.hexDigit(byte >> 4))
            output.append(Self.hexDigit(byte & 0x0F))
        }
    }

    static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }
}

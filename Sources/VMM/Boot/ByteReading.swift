/// Bounds-checked little-endian reads and writes on byte arrays, used by every parser of
/// untrusted kernel images and by the builders of guest boot structures.
extension Array where Element == UInt8 {
    /// Reads a little-endian integer at `offset`, or nil when it would run past the end.
    func littleEndian<T: FixedWidthInteger>(_ type: T.Type, at offset: Int) -> T? {
        let size = MemoryLayout<T>.size
        guard offset >= 0, offset <= count - size else { return nil }
        var value: T = 0
        for i in 0..<size { value |= T(self[offset + i]) << (8 * i) }
        return value
    }

    /// Writes a little-endian integer at `offset`; the array must already be large enough.
    mutating func setLittleEndian<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        let size = MemoryLayout<T>.size
        precondition(offset >= 0 && offset + size <= count, "builder wrote past its own buffer")
        for i in 0..<size { self[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
    }

    /// Copies ASCII bytes of `text` at `offset` (no terminator).
    mutating func setASCII(_ text: String, at offset: Int) {
        for (i, byte) in text.utf8.enumerated() { self[offset + i] = byte }
    }

    /// The two's-complement byte that makes the sum of `range` zero (MP table and ACPI checksums).
    func checksumByte(over range: Range<Int>) -> UInt8 {
        var sum: UInt8 = 0
        for i in range { sum &+= self[i] }
        return 0 &- sum
    }
}

/// Sizes as docker prints them: decimal units in `system df` ("1.23MB"), binary units in
/// `stats` ("12.5MiB").
enum ByteFormat {
    static func decimal(_ bytes: Int64) -> String {
        format(Double(bytes), base: 1000, units: ["B", "kB", "MB", "GB", "TB"])
    }

    static func binary(_ bytes: UInt64) -> String {
        format(Double(bytes), base: 1024, units: ["B", "KiB", "MiB", "GiB", "TiB"])
    }

    private static func format(_ value: Double, base: Double, units: [String]) -> String {
        var value = value
        var unit = 0
        while value >= base && unit < units.count - 1 {
            value /= base
            unit += 1
        }
        if unit == 0 { return "\(Int(value))\(units[0])" }
        let rounded = (value * 100).rounded() / 100
        var text = "\(rounded)"
        if text.hasSuffix(".0") { text.removeLast(2) }
        return text + units[unit]
    }
}

/// A left-aligned text table with three spaces between columns, as docker prints them.
enum TextTable {
    static func render(_ rows: [[String]]) -> String {
        guard let columns = rows.map(\.count).max() else { return "" }
        let widths = (0..<columns).map { column in rows.map { column < $0.count ? $0[column].count : 0 }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index] + 3, withPad: " ", startingAt: 0)
            }.joined()
        }.joined(separator: "\n")
    }
}

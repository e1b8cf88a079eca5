import ContainerRuntime

/// JSON on stdout, as runc prints it.
enum JSONOutput {
    static func print<T: Encodable>(_ value: T, pretty: Bool = true) throws {
        Swift.print(String(decoding: try RuntimeJSON.encode(value, pretty: pretty, sortedKeys: pretty), as: UTF8.self))
    }
}

/// Aligned columns, as runc's tabwriter prints them.
enum Table {
    static func print(_ rows: [[String]]) {
        guard let first = rows.first else { return }
        var widths = first.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
        for row in rows {
            let line = row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count + 3)
            }.joined()
            Swift.print(line)
        }
    }
}

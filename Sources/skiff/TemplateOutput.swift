import ContainerRuntime
import Engine
import JSON
import Templates

/// `--format` of the inspect commands and `ps`: JSON (the default) or a Go template applied to
/// each item, as docker's CLI does (`\t` and `\n` in the template stand for tab and newline).
enum TemplateOutput {
    /// nil for JSON output; throws a usage error naming the mistake otherwise.
    static func template(_ format: String?) throws -> GoTemplate? {
        guard let format, format != "json", !format.isEmpty else { return nil }
        let text = format.replacingEscapes()
        do {
            return try GoTemplate(text)
        } catch {
            throw EngineError.invalidOption("invalid --format template '\(format)': \(error)")
        }
    }

    /// Prints the items as a JSON array, or one rendered template per item.
    static func print<T: Encodable>(_ items: [T], format: String?) throws {
        guard let template = try template(format) else {
            Swift.print(String(decoding: try RuntimeJSON.encode(items, pretty: true), as: UTF8.self))
            return
        }
        for item in items {
            Swift.print(try render(template, item, format: format ?? ""))
        }
    }

    /// `ps`/`images` style: `--format TEMPLATE` prints one line per row; `--format "table
    /// TEMPLATE"` adds a header (the template rendered over `headers`, docker's column names) and
    /// aligns the tab-separated columns.
    static func printRows<T: Encodable>(_ rows: [T], format: String, headers: T) throws {
        let isTable = format.hasPrefix("table ")
        guard let template = try template(isTable ? String(format.dropFirst(6)) : format) else {
            Swift.print(String(decoding: try RuntimeJSON.encode(rows, pretty: true), as: UTF8.self))
            return
        }
        var lines = try rows.map { try render(template, $0, format: format) }
        guard isTable else {
            for line in lines { Swift.print(line) }
            return
        }
        lines.insert(try render(template, headers, format: format), at: 0)
        let cells = lines.map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        let columns = cells.map(\.count).max() ?? 0
        let widths = (0..<columns).map { column in cells.map { column < $0.count ? $0[column].count : 0 }.max() ?? 0 }
        for row in cells {
            Swift.print(
                row.enumerated().map { cell in
                    cell.offset == row.count - 1
                        ? cell.element : cell.element + String(repeating: " ", count: widths[cell.offset] - cell.element.count + 3)
                }.joined())
        }
    }

    /// Documents already as JSON values (`skiff inspect` of objects of several kinds).
    static func print(values: [JSONValue], format: String?) throws {
        guard let template = try template(format) else {
            Swift.print(String(decoding: JSONValue.array(values).serialized(pretty: true), as: UTF8.self))
            return
        }
        for value in values {
            do {
                Swift.print(try template.render(value))
            } catch {
                throw EngineError.invalidOption("--format '\(format ?? "")': \(error)")
            }
        }
    }

    static func render<T: Encodable>(_ template: GoTemplate, _ item: T, format: String) throws -> String {
        let value = try JSONValue.parse(try RuntimeJSON.encode(item))
        do {
            return try template.render(value)
        } catch {
            throw EngineError.invalidOption("--format '\(format)': \(error)")
        }
    }
}

extension String {
    /// docker's CLI turns the two-character sequences \t and \n of a format into tab and newline.
    func replacingEscapes() -> String {
        var out = ""
        var iterator = makeIterator()
        while let character = iterator.next() {
            guard character == "\\" else {
                out.append(character)
                continue
            }
            switch iterator.next() {
            case "t": out.append("\t")
            case "n": out.append("\n")
            case let other?:
                out.append("\\")
                out.append(other)
            case nil: out.append("\\")
            }
        }
        return out
    }
}

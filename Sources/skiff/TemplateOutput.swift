#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import ContainerRuntime
import JSON
import Templates

/// `--format` of the inspect commands and the listings: JSON (the default) or a Go template
/// applied to each item, as docker's CLI does (`\t` and `\n` in the template stand for tab and
/// newline). A template that does not parse fails before anything is printed, with docker's exit
/// code (64 for inspect-like commands, 1 for listings); one that fails on an item exits 1.
enum TemplateOutput {
    /// docker's exit code for a --format that does not parse: inspect, version, info and events
    /// return 64 (EX_USAGE), the listings (ps, images, stats) 1.
    static let documentParseExitCode: Int32 = 64
    static let listParseExitCode: Int32 = 1

    /// nil for JSON output; prints the mistake and exits with `parseExitCode` otherwise.
    static func template(_ format: String?, parseExitCode: Int32 = documentParseExitCode) throws -> GoTemplate? {
        guard let format, format != "json", !format.isEmpty else { return nil }
        do {
            return try GoTemplate(format.replacingEscapes())
        } catch {
            printEngineError("--format '\(format)': template parsing error: \(error)")
            if parseExitCode == ExitCode.validationFailure.rawValue {
                // 64 is ArgumentParser's validation failure, which skiff's entry turns into
                // docker's 125 for a bad command line; docker's inspect exits 64 here, so exit
                // directly (nothing has been printed or started yet).
                fflush(nil)
                exit(parseExitCode)
            }
            throw ExitCode(parseExitCode)
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

    /// `ps`/`images`/`stats` style: `--format TEMPLATE` prints one line per row; `--format
    /// "table TEMPLATE"` adds a header (the template rendered over `headers`, docker's column
    /// names, with docker's header functions) and aligns the tab-separated columns. A field the
    /// rows do not have is an error, as in docker's typed formatting contexts; `methods` are
    /// the methods of each row (`.Label "key"` on ps), `headerMethods` what they show as header.
    static func printRows<T: Encodable>(
        _ rows: [T], format: String, headers: T, methods: [[String: GoTemplate.Method]] = [],
        headerMethods: [String: GoTemplate.Method] = [:]
    ) throws {
        let isTable = format.hasPrefix("table ")
        let text = isTable ? String(format.dropFirst(6)) : format
        guard let template = try template(text, parseExitCode: listParseExitCode) else {
            Swift.print(String(decoding: try RuntimeJSON.encode(rows, pretty: true), as: UTF8.self))
            return
        }
        var lines = try rows.enumerated().map { row in
            try render(
                template, row.element, format: format, methods: row.offset < methods.count ? methods[row.offset] : [:], missingKey: .error)
        }
        guard isTable else {
            for line in lines { Swift.print(line) }
            return
        }
        lines.insert(template.renderHeader(try JSONValue.parse(try RuntimeJSON.encode(headers)), methods: headerMethods), at: 0)
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
            Swift.print(try render(template, value: value, format: format ?? ""))
        }
    }

    static func render<T: Encodable>(
        _ template: GoTemplate, _ item: T, format: String, methods: [String: GoTemplate.Method] = [:],
        missingKey: GoTemplate.MissingKey = .noValue
    ) throws -> String {
        try render(
            template, value: try JSONValue.parse(try RuntimeJSON.encode(item)), format: format, methods: methods, missingKey: missingKey)
    }

    /// One item through the template; a failure is printed and exits 1, as docker's does.
    static func render(
        _ template: GoTemplate, value: JSONValue, format: String, methods: [String: GoTemplate.Method] = [:],
        missingKey: GoTemplate.MissingKey = .noValue
    ) throws -> String {
        do {
            return try template.render(value, methods: methods, missingKey: missingKey)
        } catch {
            printEngineError("--format '\(format)': \(error)")
            throw ExitCode(1)
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

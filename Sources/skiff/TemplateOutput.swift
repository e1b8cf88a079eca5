import ContainerRuntime
import Engine
import JSON

/// `--format` of the inspect commands and `ps`: JSON (the default) or a Go template applied to
/// each item, as docker's CLI does (`\t` and `\n` in the template stand for tab and newline).
enum TemplateOutput {
    /// nil for JSON output; throws a usage error naming the mistake otherwise.
    static func template(_ format: String?) throws -> JSONTemplate? {
        guard let format, format != "json", !format.isEmpty else { return nil }
        let text = format.replacingEscapes()
        do {
            return try JSONTemplate(text)
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

    static func render<T: Encodable>(_ template: JSONTemplate, _ item: T, format: String) throws -> String {
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
            guard character == "\\" else { out.append(character); continue }
            switch iterator.next() {
            case "t": out.append("\t")
            case "n": out.append("\n")
            case let other?: out.append("\\"); out.append(other)
            case nil: out.append("\\")
            }
        }
        return out
    }
}

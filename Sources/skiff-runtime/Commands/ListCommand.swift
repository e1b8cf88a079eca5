import ContainerRuntime

/// `list`: every container in the state directory.
enum ListCommand {
    struct Entry: Encodable {
        var ociVersion: String
        var id: String
        var pid: Int32
        var status: String
        var bundle: String
        var rootfs: String
        var created: String
        var owner: String
        var annotations: [String: String]?
    }

    static let spec = CommandSpec(
        name: "list", aliases: ["ls"], summary: "List containers.", usage: "",
        flags: [
            .value("--format", "-f", placeholder: "FORMAT", help: "table or json."),
            .bool("--quiet", "-q", help: "Print only the ids."),
        ]
    ) { context in
        let entries = context.runtime.list().map { record, state in
            Entry(
                ociVersion: state.ociVersion, id: record.id, pid: state.pid ?? 0, status: state.status.rawValue,
                bundle: record.bundle, rootfs: record.rootfs, created: record.created, owner: "root",
                annotations: record.annotations)
        }
        if context.arguments.flag("quiet") {
            for e in entries { print(e.id) }
            return 0
        }
        switch context.arguments.string("format") ?? "table" {
        case "json":
            try JSONOutput.print(entries, pretty: false)
        case "table":
            Table.print(
                [["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]]
                    + entries.map { [$0.id, "\($0.pid)", $0.status, $0.bundle, $0.created, $0.owner] })
        case let other:
            throw RuntimeError.invalidConfig("unknown --format '\(other)': use table or json")
        }
        return 0
    }
}

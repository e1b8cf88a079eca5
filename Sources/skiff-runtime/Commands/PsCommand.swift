import ContainerRuntime
import LinuxSupport

/// `ps`: the container's processes, as pids (json) or through the host's ps (table).
enum PsCommand {
    static let spec = CommandSpec(
        name: "ps", summary: "List the processes of a container.", usage: "<container-id> [ps options]",
        flags: [.value("--format", "-f", placeholder: "FORMAT", help: "table or json.")],
        passthroughAfterFirstArgument: true
    ) { context in
        let a = context.arguments
        let pids = try context.runtime.processes(id: try a.argument(0, "container id"))
        let format = a.string("format") ?? "table"
        if format == "json" {
            try JSONOutput.print(pids, pretty: false)
            return 0
        }
        guard format == "table" else { throw RuntimeError.invalidConfig("unknown --format '\(format)': use table or json") }
        let psArgs = Array(a.positionals.dropFirst())
        let result = try Subprocess.run(
            path: "/bin/ps", args: ["ps"] + (psArgs.isEmpty ? ["-ef"] : psArgs),
            env: ["PATH=/usr/bin:/bin"], captureOutput: true)
        let lines = String(decoding: result.output, as: UTF8.self).split(separator: "\n")
        guard let header = lines.first else { return 0 }
        guard let pidColumn = header.split(separator: " ").firstIndex(of: "PID") else {
            throw RuntimeError.invalidConfig("ps output has no PID column: include it in the ps options")
        }
        let wanted = Set(pids)
        print(header)
        for line in lines.dropFirst() {
            let fields = line.split(separator: " ")
            if fields.count > pidColumn, let pid = Int32(fields[pidColumn]), wanted.contains(pid) { print(line) }
        }
        return 0
    }
}

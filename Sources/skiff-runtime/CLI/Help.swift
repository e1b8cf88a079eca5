/// Usage text for `--help`, generated from the command specs.
enum Help {
    static func overview(_ commands: [CommandSpec]) -> String {
        var out = """
            skiff-runtime: an OCI container runtime with runc's command line.

            Usage: skiff-runtime [global flags] <command> [flags] [arguments]

            Commands:

            """
        let width = (commands.map { $0.name.count }.max() ?? 0) + 3
        for c in commands {
            out += "  " + c.name + String(repeating: " ", count: width - c.name.count) + c.summary + "\n"
        }
        out += "\nGlobal flags:\n" + flagLines(GlobalOptions.flags)
        out += "  --help, -h         Show help.\n  --version, -v      Show the version.\n"
        return out
    }

    static func command(_ c: CommandSpec) -> String {
        var out = "skiff-runtime \(c.name): \(c.summary)\n\nUsage: skiff-runtime \(c.name) [flags] \(c.usage)\n"
        if !c.flags.isEmpty { out += "\nFlags:\n" + flagLines(c.flags) }
        return out
    }

    private static func flagLines(_ flags: [FlagSpec]) -> String {
        let left = flags.map { f in f.names.joined(separator: ", ") + (f.takesValue ? " \(f.placeholder)" : "") }
        let width = (left.map(\.count).max() ?? 0) + 3
        return zip(left, flags).map { l, f in "  " + l + String(repeating: " ", count: width - l.count) + f.help + "\n" }.joined()
    }
}

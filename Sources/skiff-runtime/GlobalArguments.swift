/// runc takes its global flags before the command (`runc --root X create ...`); the argument
/// parser only reads a subcommand's options after its name. This moves them there.
enum GlobalArguments {
    static let withValue: Set<String> = ["--root", "--log", "--log-format", "--criu"]
    static let flags: Set<String> = ["--debug", "--systemd-cgroup"]
    /// Accepted for compatibility and dropped: runc's global `--rootless VALUE`.
    static let ignoredWithValue: Set<String> = ["--rootless"]

    static func reorder(_ args: [String]) -> [String] {
        var globals: [String] = []
        var index = 0
        while index < args.count {
            let arg = args[index]
            let name = arg.split(separator: "=", maxSplits: 1).first.map(String.init) ?? arg
            if withValue.contains(name) {
                globals.append(arg)
                if !arg.contains("="), index + 1 < args.count {
                    globals.append(args[index + 1])
                    index += 1
                }
            } else if ignoredWithValue.contains(name) {
                if !arg.contains("=") { index += 1 }
            } else if flags.contains(arg) {
                globals.append(arg)
            } else {
                break
            }
            index += 1
        }
        guard index < args.count else { return globals.isEmpty ? args : Array(args[index...]) + globals }
        return [args[index]] + globals + args[(index + 1)...]
    }
}

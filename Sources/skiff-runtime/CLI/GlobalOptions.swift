import ContainerRuntime

/// runc's global flags.
struct GlobalOptions {
    static let flags: [FlagSpec] = [
        .value("--root", placeholder: "DIR", help: "Root directory for container state (default /run/skiff-runtime)."),
        .value("--log", placeholder: "FILE", help: "Also write errors and warnings to this file."),
        .value("--log-format", placeholder: "FORMAT", help: "Log file format: text or json."),
        .bool("--debug", help: "Enable debug output."),
        .bool("--systemd-cgroup", help: "Use systemd for cgroups (not supported: skiff-runtime uses cgroupfs)."),
        .value("--criu", placeholder: "PATH", help: "Accepted for runc compatibility; checkpointing is not supported."),
        .value("--rootless", placeholder: "VALUE", help: "Accepted for runc compatibility (true, false or auto)."),
    ]

    var root = "/run/skiff-runtime"
    var log: String?
    var logFormat = LogFormat.text
    var debug = false
    var systemdCgroup = false

    init(_ parsed: ParsedArguments) throws {
        if let root = parsed.string("root") { self.root = root }
        log = parsed.string("log")
        if let format = parsed.string("log-format") {
            guard let value = LogFormat(rawValue: format) else {
                throw UsageError("--log-format must be text or json, not '\(format)'", command: nil)
            }
            logFormat = value
        }
        debug = parsed.flag("debug")
        systemdCgroup = parsed.flag("systemd-cgroup")
    }

    var runtime: Runtime { Runtime(root: root, systemdCgroup: systemdCgroup) }
}

enum LogFormat: String, Sendable {
    case text, json
}

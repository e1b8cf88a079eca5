/// docker's `--security-opt` entries that skiff honours: `no-new-privileges[=true|false]` and
/// `seccomp=unconfined|/path/profile.json`. Others (apparmor, label) are refused with a reason
/// rather than ignored, so nobody believes a container is confined when it is not.
public struct SecurityOptions: Sendable, Equatable {
    public enum SeccompChoice: Sendable, Equatable {
        /// The built-in profile (`DefaultSeccompProfile`).
        case builtin
        case unconfined
        /// A profile file in docker's format, read at create time.
        case file(String)
    }

    public var noNewPrivileges = false
    public var seccomp: SeccompChoice = .builtin

    public init(parsing entries: [String]) throws {
        for entry in entries {
            // docker accepts key=value and the older key:value.
            let separator = entry.firstIndex(where: { $0 == "=" || $0 == ":" })
            let key = separator.map { String(entry[..<$0]) } ?? entry
            let value = separator.map { String(entry[entry.index(after: $0)...]) }
            switch key {
            case "no-new-privileges":
                switch value {
                case nil, "true": noNewPrivileges = true
                case "false": noNewPrivileges = false
                default: throw EngineError.invalidOption("invalid --security-opt '\(entry)': use no-new-privileges[=true|false]")
                }
            case "seccomp":
                guard let value, !value.isEmpty else {
                    throw EngineError.invalidOption(
                        "invalid --security-opt '\(entry)': use seccomp=unconfined or seccomp=/path/to/profile.json")
                }
                seccomp = value == "unconfined" ? .unconfined : .file(value)
            case "apparmor", "label", "systempaths", "mask", "unmask":
                throw EngineError.invalidOption(
                    "--security-opt \(key) is not supported by skiff (no AppArmor/SELinux integration): remove it")
            default:
                throw EngineError.invalidOption("invalid --security-opt '\(entry)': use no-new-privileges or seccomp=unconfined|FILE")
            }
        }
    }
}

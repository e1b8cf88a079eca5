import ContainerRuntime

/// docker's `--security-opt` entries: `no-new-privileges[=true|false]`,
/// `seccomp=unconfined|/path/profile.json`, `apparmor=PROFILE|unconfined` (applied where the host
/// has AppArmor; elsewhere dropped with a warning, as podman does), `label=...` (SELinux: dropped
/// with a warning where the host has none, which is the only kind skiff runs on; refused where it
/// has one, rather than pretend), `systempaths=unconfined` (no masked or read-only /proc paths).
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
    /// `apparmor=PROFILE` (nil: the default, none; "unconfined" is nil too).
    public var appArmorProfile: String?
    public var systemPathsUnconfined = false
    /// What was dropped because the host cannot do it, for the warning.
    public var dropped: [String] = []

    public init(parsing entries: [String], host: SecurityModules.Host = .detect()) throws {
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
            case "apparmor":
                guard let value, !value.isEmpty else {
                    throw EngineError.invalidOption("invalid --security-opt '\(entry)': use apparmor=PROFILE")
                }
                if value == "unconfined" {
                    appArmorProfile = nil
                } else if host.appArmor {
                    appArmorProfile = value
                } else {
                    dropped.append("--security-opt \(entry): this host has no AppArmor, so no profile is applied")
                }
            case "label":
                guard let value, !value.isEmpty else {
                    throw EngineError.invalidOption("invalid --security-opt '\(entry)': use label=disable, label=user:..., label=type:...")
                }
                if host.seLinux, value != "disable" {
                    throw EngineError.invalidOption(
                        "--security-opt \(entry): skiff does not label containers for SELinux; remove it (or label=disable)")
                }
                if !host.seLinux, value != "disable" {
                    dropped.append("--security-opt \(entry): this host has no SELinux, so no label is applied")
                }
            case "systempaths":
                guard value == "unconfined" else {
                    throw EngineError.invalidOption("invalid --security-opt '\(entry)': use systempaths=unconfined")
                }
                systemPathsUnconfined = true
            case "mask", "unmask":
                throw EngineError.invalidOption("--security-opt \(key) is podman's and not supported by skiff: remove it")
            default:
                throw EngineError.invalidOption("invalid --security-opt '\(entry)': use no-new-privileges or seccomp=unconfined|FILE")
            }
        }
    }
}

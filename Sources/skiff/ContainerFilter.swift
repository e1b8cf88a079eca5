import Engine

/// One `--filter` of `ps` and `container prune`, as docker spells them.
enum ContainerFilter {
    case label(key: String, value: String?)
    case name(String)
    case id(String)
    case status(String)

    init(parsing text: String) throws {
        let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[1].isEmpty else {
            throw EngineError.invalidOption("invalid --filter '\(text)': use label=KEY[=VALUE], name=NAME, id=PREFIX or status=STATE")
        }
        switch parts[0] {
        case "label":
            let label = parts[1].split(separator: "=", maxSplits: 1).map(String.init)
            self = .label(key: label[0], value: label.count > 1 ? label[1] : nil)
        case "name": self = .name(parts[1])
        case "id": self = .id(parts[1])
        case "status":
            guard ["created", "running", "exited", "restarting"].contains(parts[1]) else {
                throw EngineError.invalidOption("invalid --filter status '\(parts[1])': use created, running, restarting or exited")
            }
            self = .status(parts[1])
        default:
            throw EngineError.invalidOption("unknown --filter '\(parts[0])': use label, name, id or status")
        }
    }

    func matches(_ record: EngineContainer, state: String) -> Bool {
        switch self {
        case .label(let key, let value):
            guard let actual = record.labels?[key] else { return false }
            return value == nil || actual == value
        case .name(let name): return record.name.contains(name)
        case .id(let prefix): return record.id.hasPrefix(prefix)
        case .status(let wanted): return state == wanted
        }
    }
}

import LinuxSupport
import Networking

/// `container prune --filter` and the API's `POST /containers/prune` filters, as docker reads
/// them: `label=KEY[=VALUE]` (every one must match), `label!=KEY[=VALUE]` (none may match) and
/// `until=TIME` (made before: a Unix time, an RFC 3339 time or a duration such as 24h).
/// Anything else is refused, as docker's daemon refuses it.
public struct ContainerPruneFilters: Sendable, Equatable {
    public static let keys = ["label", "label!", "until"]

    public private(set) var labels: [String] = []
    public private(set) var notLabels: [String] = []
    /// Seconds since the epoch; only containers made before it go.
    public private(set) var until: Double?

    public init() {}

    /// From docker's map (the API's `filters`), against `now` for a duration.
    public init(_ values: [String: [String]], now: Double = Timestamp.nowSeconds()) throws(EngineError) {
        for (key, list) in values.sorted(by: { $0.key < $1.key }) {
            for value in list { try add(key: key, value: value, now: now) }
        }
    }

    /// From `--filter KEY=VALUE` options.
    public init(options: [String], now: Double = Timestamp.nowSeconds()) throws(EngineError) {
        for option in options {
            // `label!=K` splits at its first "=": the key keeps its "!".
            guard let equals = option.firstIndex(of: "="), !option[option.index(after: equals)...].isEmpty else {
                throw .invalidOption("invalid --filter '\(option)': use label=KEY[=VALUE], label!=KEY[=VALUE] or until=TIME")
            }
            try add(key: String(option[..<equals]), value: String(option[option.index(after: equals)...]), now: now)
        }
    }

    private mutating func add(key: String, value: String, now: Double) throws(EngineError) {
        switch key {
        case "label": labels.append(value)
        case "label!": notLabels.append(value)
        case "until":
            guard let seconds = try? LogTimeFilter(since: value, until: nil, now: now).since else {
                throw .invalidOption("invalid filter 'until=\(value)': give a Unix time, an RFC 3339 time or a duration such as 24h")
            }
            until = seconds
        default:
            throw .invalidOption("invalid filter '\(key)': containers are pruned by \(Self.keys.joined(separator: ", "))")
        }
    }

    public func matches(_ record: EngineContainer) -> Bool {
        let present = record.labels ?? [:]
        if !LabelFilter.all(labels, match: present) { return false }
        if notLabels.contains(where: { LabelFilter.all([$0], match: present) }) { return false }
        if let until, (Timestamp.seconds(record.created) ?? 0) >= until { return false }
        return true
    }
}

import LinuxSupport
import Networking

/// docker's human durations (`Up 5 minutes`, `Exited (1) 2 hours ago`, `3 days ago`), the rules
/// of the Go units package docker's CLI and API print with.
public enum HumanDuration {
    public static func describe(_ seconds: Double) -> String {
        let s = Int(max(0, seconds))
        if s < 1 { return "Less than a second" }
        if s == 1 { return "1 second" }
        if s < 60 { return "\(s) seconds" }
        let minutes = s / 60
        if minutes == 1 { return "About a minute" }
        if minutes < 60 { return "\(minutes) minutes" }
        let hours = Int(seconds / 3600 + 0.5)
        if hours == 1 { return "About an hour" }
        if hours < 48 { return "\(hours) hours" }
        if hours < 24 * 7 * 2 { return "\(hours / 24) days" }
        if hours < 24 * 30 * 2 { return "\(hours / 24 / 7) weeks" }
        if hours < 24 * 365 * 2 { return "\(hours / 24 / 30) months" }
        return "\(Int(seconds / 3600) / 24 / 365) years"
    }
}

/// `ps --filter` and the API's `filters` for containers, as docker reads them: each key may be
/// given several times (any of its values matches, except labels, which must all match), and
/// every key must match.
public struct ContainerListFilters: Sendable, Equatable {
    public static let keys = [
        "id", "name", "label", "status", "ancestor", "before", "since", "exited", "volume", "network", "publish", "expose", "health",
        "is-task", "isolation",
    ]
    public static let statuses = ["created", "restarting", "running", "removing", "paused", "exited", "dead"]

    public private(set) var values: [String: [String]] = [:]

    public init() {}

    /// From docker's map (the API's `filters`); refuses unknown keys and malformed values.
    public init(_ values: [String: [String]]) throws(EngineError) {
        for (key, list) in values {
            for value in list { try add(key: key, value: value) }
        }
    }

    /// From `--filter KEY=VALUE` options.
    public init(options: [String]) throws(EngineError) {
        for option in options {
            guard let equals = option.firstIndex(of: "="), option[option.index(after: equals)...].isEmpty == false else {
                throw .invalidOption("invalid --filter '\(option)': use KEY=VALUE with a key of \(Self.keys.joined(separator: ", "))")
            }
            try add(key: String(option[..<equals]), value: String(option[option.index(after: equals)...]))
        }
    }

    public var isEmpty: Bool { values.isEmpty }

    /// Whether a status filter is given (docker then lists stopped containers without -a).
    public var hasStatus: Bool { values["status"] != nil || values["exited"] != nil }

    private mutating func add(key: String, value: String) throws(EngineError) {
        guard Self.keys.contains(key) else {
            throw .invalidOption("invalid filter '\(key)': containers are filtered by \(Self.keys.joined(separator: ", "))")
        }
        switch key {
        case "status" where !Self.statuses.contains(value):
            throw .invalidOption("invalid filter 'status=\(value)': use one of \(Self.statuses.joined(separator: ", "))")
        case "exited" where Int32(value) == nil:
            throw .invalidOption("invalid filter 'exited=\(value)': an exit code is a number")
        case "health" where !["starting", "healthy", "unhealthy", "none"].contains(value):
            throw .invalidOption("invalid filter 'health=\(value)': use starting, healthy, unhealthy or none")
        case "is-task" where !["true", "false"].contains(value):
            throw .invalidOption("invalid filter 'is-task=\(value)': use true or false")
        case "name":
            do { _ = try Regex(value) } catch {
                throw .invalidOption("invalid filter 'name=\(value)': not a regular expression (\(error))")
            }
        case "publish", "expose":
            guard PortFilter(value) != nil else {
                throw .invalidOption("invalid filter '\(key)=\(value)': use PORT[/PROTO] or FIRST-LAST[/PROTO]")
            }
        default: break
        }
        values[key, default: []].append(value)
    }

    /// `8080`, `8080/udp`, `8000-8080/tcp`.
    struct PortFilter {
        var range: ClosedRange<UInt16>
        var proto: String?

        init?(_ text: String) {
            let parts = text.split(separator: "/", maxSplits: 1).map(String.init)
            guard let first = parts.first else { return nil }
            proto = parts.count > 1 ? parts[1].lowercased() : nil
            let bounds = first.split(separator: "-", maxSplits: 1).map { UInt16($0) }
            guard let low = bounds.first ?? nil, let high = bounds.count > 1 ? bounds[1] : low, low <= high else { return nil }
            range = low...high
        }

        func matches(_ port: UInt16, _ portProto: String) -> Bool {
            range.contains(port) && (proto == nil || proto == portProto)
        }
    }
}

/// One row of `ps` (and the API's container list): the record with its live state and docker's
/// STATUS text.
public struct ContainerListing: Sendable {
    public var record: EngineContainer
    public var live: LiveStatus
    /// created, running, restarting or exited.
    public var state: String
    /// docker's STATUS: `Up 5 minutes`, `Exited (1) 2 hours ago`, `Created`, `Restarting (1) 3 seconds ago`.
    public var status: String
    /// The creation time in seconds since the epoch (0 when unreadable).
    public var createdSeconds: Double
}

extension Engine {
    /// The containers `ps` lists: running ones (with `all`, every one; a status filter also shows
    /// stopped ones), newest first, matching every filter; `last` keeps the N newest of all.
    public func listContainers(all: Bool, filters: ContainerListFilters = ContainerListFilters(), last: Int? = nil, now: Double)
        -> [ContainerListing]
    {
        let records = store.all()
        let byReference = { (reference: String) in
            records.first { $0.id == reference || $0.name == reference || $0.name == "/" + reference }
                ?? records.first { $0.id.hasPrefix(reference) }
        }
        var rows: [ContainerListing] = []
        for record in records {
            let live = liveStatus(record)
            let restarting = isRestarting(record)
            let state = restarting ? "restarting" : (live.isRunning && record.paused == true ? "paused" : live.state.rawValue)
            let showsStopped = all || last != nil || filters.hasStatus
            if !showsStopped && !live.isRunning && !restarting { continue }
            let row = ContainerListing(
                record: record, live: live, state: state, status: statusText(live, record: record, restarting: restarting, now: now),
                createdSeconds: Timestamp.seconds(record.created) ?? 0)
            if matches(row, filters, byReference: byReference) { rows.append(row) }
        }
        rows.sort { $0.createdSeconds != $1.createdSeconds ? $0.createdSeconds > $1.createdSeconds : $0.record.id < $1.record.id }
        if let last { rows = Array(rows.prefix(max(0, last))) }
        return rows
    }

    /// Each image's size by ID (`ps --size`'s virtual size adds the container's to it).
    public func imageSizes() -> [String: Int64] {
        var sizes: [String: Int64] = [:]
        for image in (try? images.withSharedLock { try images.images() }) ?? [] { sizes[image.id.description] = image.size }
        return sizes
    }

    /// docker's STATUS column.
    /// docker's " (healthy)", " (unhealthy)", " (health: starting)"; "" without a check.
    func healthSuffix(_ record: EngineContainer) -> String {
        guard record.healthcheck != nil else { return "" }
        let status = health(of: record).Status
        return status == "starting" ? " (health: starting)" : " (\(status))"
    }

    public func statusText(_ live: LiveStatus, record: EngineContainer, restarting: Bool, now: Double) -> String {
        let finished = record.finishedAt.flatMap(Timestamp.seconds).map { " " + HumanDuration.describe(now - $0) + " ago" } ?? ""
        switch live.state {
        case .running:
            if live.monitorLost { return "Up (monitor lost: output and exit code are not collected)" }
            return "Up" + (record.startedAt.flatMap(Timestamp.seconds).map { " " + HumanDuration.describe(now - $0) } ?? "")
                + (record.paused == true ? " (Paused)" : healthSuffix(record))
        case .created:
            return record.error == nil ? "Created" : "Created (start failed: exit \(record.exitCode ?? 125))"
        case .exited:
            if restarting, let code = live.exitCode { return "Restarting (\(code))" + finished }
            if let code = live.exitCode { return "Exited (\(code))" + finished }
            return "Exited (unknown: its monitor was killed)"
        }
    }

    private func matches(
        _ row: ContainerListing, _ filters: ContainerListFilters, byReference: (String) -> EngineContainer?
    ) -> Bool {
        filters.values.allSatisfy { key, values in
            // docker's rule: several labels must all match; several values of another key, any.
            key == "label"
                ? values.allSatisfy { matches(row, key: key, value: $0, byReference: byReference) }
                : values.contains { matches(row, key: key, value: $0, byReference: byReference) }
        }
    }

    private func matches(
        _ row: ContainerListing, key: String, value: String, byReference: (String) -> EngineContainer?
    ) -> Bool {
        let record = row.record
        switch key {
        case "id": return record.id.hasPrefix(value)
        case "name":
            guard let regex = try? Regex(value) else { return false }
            return ("/" + record.name).contains(regex)
        case "label":
            let parts = value.split(separator: "=", maxSplits: 1).map(String.init)
            guard let actual = record.labels?[parts[0]] else { return false }
            return parts.count == 1 || actual == parts[1]
        case "status": return value == row.state
        case "exited": return row.live.state == .exited && row.live.exitCode == Int32(value)
        case "ancestor": return Self.imageMatches(value, record: record)
        case "before": return byReference(value).map { (Timestamp.seconds($0.created) ?? 0) > row.createdSeconds } ?? false
        case "since": return byReference(value).map { (Timestamp.seconds($0.created) ?? 0) < row.createdSeconds } ?? false
        case "volume": return (record.volumes ?? []).contains(value)
        case "network": return record.network?.isConnected(to: value) == true || record.network?.mode == value
        case "publish":
            guard let filter = ContainerListFilters.PortFilter(value) else { return false }
            let ports = row.live.isRunning ? record.networkSettings?.ports ?? [] : []
            return ports.contains { filter.matches($0.hostPort, $0.proto) }
        case "expose":
            guard let filter = ContainerListFilters.PortFilter(value) else { return false }
            let exposed = (record.exposedPorts ?? []).compactMap { entry -> (UInt16, String)? in
                let parts = entry.split(separator: "/").map(String.init)
                return parts.first.flatMap { UInt16($0) }.map { ($0, parts.count > 1 ? parts[1] : "tcp") }
            }
            let published = (record.network?.ports ?? []).map { ($0.containerPort, $0.proto) }
            return (exposed + published).contains { filter.matches($0.0, $0.1) }
        case "health": return row.live.isRunning ? health(of: record).Status == value : value == "none"
        // skiff has no swarm tasks.
        case "is-task": return value == "false"
        case "isolation": return value == record.isolation || (value == "default" && record.vm == nil)
        default: return false
        }
    }

    /// `ancestor=`: the image's name (with or without its tag, `:latest` implied), or its ID (or
    /// a prefix of it, with or without `sha256:`).
    static func imageMatches(_ text: String, record: EngineContainer) -> Bool {
        let id = record.imageID.hasPrefix("sha256:") ? String(record.imageID.dropFirst(7)) : record.imageID
        let wanted = text.hasPrefix("sha256:") ? String(text.dropFirst(7)) : text
        if wanted.count >= 4, wanted.allSatisfy(\.isHexDigit), id.hasPrefix(wanted) { return true }
        func normalized(_ name: String) -> String {
            let lastComponent = name.split(separator: "/").last.map(String.init) ?? name
            return lastComponent.contains(":") || name.contains("@") ? name : name + ":latest"
        }
        let image = normalized(record.image)
        let candidate = normalized(text)
        return image == candidate || image.hasSuffix("/" + candidate) || image == "docker.io/library/" + candidate
    }
}

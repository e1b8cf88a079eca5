/// docker's filters on networks: name (substring), id (prefix), label (key or key=value),
/// driver, scope, type (custom; skiff has no builtin networks to list), dangling.
public enum NetworkFilter {
    public static let known = ["name", "id", "label", "driver", "scope", "type", "dangling"]

    public static func matches(_ network: NetworkDefinition, filters: [String: [String]], users: Int) throws(NetworkError) -> Bool {
        if let unknown = filters.keys.first(where: { !known.contains($0) }) {
            throw .invalidFilter("invalid filter '\(unknown)': skiff filters networks by \(known.joined(separator: ", "))")
        }
        if let names = filters["name"], !names.isEmpty, !names.contains(where: { network.name.contains($0) }) { return false }
        if let ids = filters["id"], !ids.isEmpty, !ids.contains(where: { network.id.hasPrefix($0) }) { return false }
        if let labels = filters["label"], !LabelFilter.all(labels, match: network.labels ?? [:]) { return false }
        if let drivers = filters["driver"], !drivers.isEmpty, !drivers.contains(network.driver) { return false }
        if let scopes = filters["scope"], !scopes.isEmpty, !scopes.contains("local") { return false }
        if let types = filters["type"], !types.isEmpty {
            let builtin = network.name == NetworkStore.defaultNetworkName
            if !types.contains(builtin ? "builtin" : "custom") { return false }
        }
        if let dangling = filters["dangling"], let value = dangling.last {
            guard let wanted = LabelFilter.bool(value) else {
                throw .invalidFilter("invalid filter 'dangling=\(value)': use true or false")
            }
            if wanted != (users == 0) { return false }
        }
        return true
    }
}

/// docker's `label` filters: each `KEY` or `KEY=VALUE` must hold (and `label!` ones must not).
public enum LabelFilter {
    public static func all(_ filters: [String], match labels: [String: String]) -> Bool {
        filters.allSatisfy { filter in
            let parts = filter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard let value = labels[parts[0]] else { return false }
            return parts.count == 1 || value == parts[1]
        }
    }

    public static func bool(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "1", "true": return true
        case "0", "false": return false
        default: return nil
        }
    }
}

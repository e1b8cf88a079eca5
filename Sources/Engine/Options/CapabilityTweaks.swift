import ContainerRuntime

/// docker's capability arithmetic for `--cap-add`, `--cap-drop` and `--privileged`: start from the
/// default set, drop, then add; `ALL` on either side means every capability the runtime knows.
/// Pure, so the rules are unit-tested.
public enum CapabilityTweaks {
    /// The capability set a container gets, in canonical `CAP_*` spelling.
    public static func compute(add: [String], drop: [String], privileged: Bool,
                               defaults: [String] = CapabilityNames.defaults) throws -> [String] {
        if privileged { return CapabilityNames.all }
        let adds = try normalize(add, option: "--cap-add")
        let drops = try normalize(drop, option: "--cap-drop")
        if adds.isEmpty && drops.isEmpty { return defaults }
        var result: [String]
        if adds.contains("ALL") {
            result = CapabilityNames.all.filter { !drops.contains($0) }
        } else if drops.contains("ALL") {
            result = adds
        } else {
            result = defaults.filter { !drops.contains($0) }
            for cap in adds where !result.contains(cap) { result.append(cap) }
        }
        var unique: [String] = []
        for cap in result where !unique.contains(cap) { unique.append(cap) }
        return unique
    }

    /// `net_admin`, `NET_ADMIN` and `CAP_NET_ADMIN` all become `CAP_NET_ADMIN`; `all` becomes `ALL`.
    static func normalize(_ names: [String], option: String) throws -> [String] {
        try names.map { name in
            let upper = name.uppercased()
            if upper == "ALL" { return "ALL" }
            let canonical = upper.hasPrefix("CAP_") ? upper : "CAP_" + upper
            guard CapabilityNames.all.contains(canonical) else {
                throw EngineError.invalidOption("\(option): unknown capability '\(name)': use a name such as NET_ADMIN or ALL (see capabilities(7))")
            }
            return canonical
        }
    }
}

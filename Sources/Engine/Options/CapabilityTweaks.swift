import ContainerRuntime
import LinuxSupport

/// docker's capability arithmetic for `--cap-add`, `--cap-drop` and `--privileged`: start from the
/// default set, drop, then add; `ALL` on either side means every capability the runtime knows.
/// Pure, so the rules are unit-tested.
public enum CapabilityTweaks {
    /// The capability set a container gets, in canonical `CAP_*` spelling.
    public static func compute(
        add: [String], drop: [String], privileged: Bool,
        defaults: [String] = CapabilityNames.defaults, all: [String] = available
    ) throws -> [String] {
        if privileged { return all }
        let adds = try normalize(add, option: "--cap-add")
        let drops = try normalize(drop, option: "--cap-drop")
        if adds.isEmpty && drops.isEmpty { return defaults }
        var result: [String]
        if adds.contains("ALL") {
            result = all.filter { !drops.contains($0) }
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

    /// The capabilities this engine can hand out: those in its own bounding set (a host or an
    /// outer container may lack some), which is what "all" means for --privileged and ALL.
    public static var available: [String] {
        guard let status = try? FileIO.readString("/proc/self/status") else { return CapabilityNames.all }
        for line in status.split(separator: "\n") where line.hasPrefix("CapBnd:") {
            guard let mask = UInt64(line.dropFirst(7).trimmingPrefixWhitespace(), radix: 16) else { break }
            return CapabilityNames.all.enumerated().filter { $0.offset < 64 && mask & (1 << UInt64($0.offset)) != 0 }.map(\.element)
        }
        return CapabilityNames.all
    }

    /// `net_admin`, `NET_ADMIN` and `CAP_NET_ADMIN` all become `CAP_NET_ADMIN`; `all` becomes `ALL`.
    static func normalize(_ names: [String], option: String) throws -> [String] {
        try names.map { name in
            let upper = name.uppercased()
            if upper == "ALL" { return "ALL" }
            let canonical = upper.hasPrefix("CAP_") ? upper : "CAP_" + upper
            guard CapabilityNames.all.contains(canonical) else {
                throw EngineError.invalidOption(
                    "\(option): unknown capability '\(name)': use a name such as NET_ADMIN or ALL (see capabilities(7))")
            }
            return canonical
        }
    }
}

extension Substring {
    fileprivate func trimmingPrefixWhitespace() -> Substring { drop { $0 == " " || $0 == "\t" } }
}

import LinuxSupport

/// docker's long form `--mount type=bind|volume|tmpfs,source=...,target=...[,readonly]`, turned
/// into the `-v` or `--tmpfs` text it is equivalent to, so both spellings share one parser and
/// one set of checks.
public enum MountOption {
    public enum Converted: Sendable, Equatable {
        case volume(String)
        case tmpfs(String)
    }

    public static func parse(_ text: String) throws -> Converted {
        func fail(_ why: String) -> EngineError {
            .invalidOption("invalid --mount '\(text)': \(why); use type=bind|volume|tmpfs,source=...,target=...[,readonly]")
        }
        var type = "volume"
        var source: String?
        var target: String?
        var readOnly = false
        var tmpfsOptions: [String] = []
        var propagation: String?
        for field in text.split(separator: ",").map(String.init) {
            let parts = field.split(separator: "=", maxSplits: 1).map(String.init)
            let key = parts[0].lowercased()
            let value = parts.count > 1 ? parts[1] : nil
            switch key {
            case "type":
                guard let value, ["bind", "volume", "tmpfs"].contains(value) else { throw fail("unknown type '\(value ?? "")'") }
                type = value
            case "source", "src":
                guard let value, !value.isEmpty else { throw fail("empty source") }
                source = value
            case "target", "destination", "dst":
                guard let value, !value.isEmpty else { throw fail("empty target") }
                target = value
            case "readonly", "ro":
                switch value {
                case nil, "true", "1": readOnly = true
                case "false", "0": readOnly = false
                default: throw fail("readonly takes true or false")
                }
            case "tmpfs-size":
                guard let value, let bytes = byteCount(value) else { throw fail("tmpfs-size takes a size such as 65536, 64k or 64m") }
                tmpfsOptions.append("size=\(bytes)")
            case "tmpfs-mode":
                guard let value else { throw fail("tmpfs-mode takes an octal mode") }
                tmpfsOptions.append("mode=\(value)")
            case "bind-propagation":
                guard let value, VolumeArgument.propagationModes.contains(value) else {
                    throw fail("bind-propagation takes private, rprivate, shared, rshared, slave or rslave")
                }
                propagation = value
            case "consistency":
                guard let value, ["consistent", "cached", "delegated", "default"].contains(value) else {
                    throw fail("consistency takes consistent, cached, delegated or default")
                }
            case "volume-nocopy", "volume-driver", "volume-label", "volume-opt", "bind-recursive",
                "volume-subpath":
                throw fail("\(key) is not supported by skiff")
            default:
                throw fail("unknown field '\(key)'")
            }
        }
        guard let target else { throw fail("target is required") }
        switch type {
        case "bind":
            guard let source else { throw fail("a bind mount needs a source") }
            guard source.hasPrefix("/") else { throw fail("the bind source must be an absolute host path") }
            guard tmpfsOptions.isEmpty else { throw fail("tmpfs options apply only to type=tmpfs") }
            let modes = (readOnly ? ["ro"] : []) + (propagation.map { [$0] } ?? [])
            return .volume(source + ":" + target + (modes.isEmpty ? "" : ":" + modes.joined(separator: ",")))
        case "volume":
            guard propagation == nil else { throw fail("bind-propagation applies only to type=bind") }
            guard tmpfsOptions.isEmpty else { throw fail("tmpfs options apply only to type=tmpfs") }
            guard let source else {
                guard !readOnly else { throw fail("an anonymous volume cannot be read-only") }
                return .volume(target)
            }
            guard !source.hasPrefix("/") else { throw fail("a volume source is a volume name; use type=bind for a host path") }
            return .volume(source + ":" + target + (readOnly ? ":ro" : ""))
        default:
            guard propagation == nil else { throw fail("bind-propagation applies only to type=bind") }
            guard source == nil else { throw fail("a tmpfs mount has no source") }
            let options = (readOnly ? ["ro"] : []) + tmpfsOptions
            return .tmpfs(target + (options.isEmpty ? "" : ":" + options.joined(separator: ",")))
        }
    }

    /// docker's RAM sizes (`ByteSize`), positive.
    static func byteCount(_ text: String) -> UInt64? {
        guard let bytes = ByteSize.parse(text), bytes > 0 else { return nil }
        return UInt64(bytes)
    }
}

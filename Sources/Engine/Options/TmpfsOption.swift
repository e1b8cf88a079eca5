import OCISpec

/// docker's `--tmpfs /path[:options]`: a tmpfs mount, by default `rw,noexec,nosuid,nodev`, with the
/// mount options and tmpfs's own (size, mode, uid, gid, nr_inodes) checked before the runtime sees them.
public enum TmpfsOption {
    static let defaults = ["rw", "noexec", "nosuid", "nodev"]
    /// Flags that replace their opposite from the defaults.
    static let opposites: [String: String] = [
        "rw": "ro", "ro": "rw", "exec": "noexec", "noexec": "exec", "suid": "nosuid", "nosuid": "suid",
        "dev": "nodev", "nodev": "dev", "atime": "noatime", "noatime": "atime", "diratime": "nodiratime",
        "nodiratime": "diratime", "sync": "async", "async": "sync",
    ]
    static let otherFlags: Set<String> = ["relatime", "norelatime", "strictatime", "nostrictatime"]

    public static func parse(_ text: String) throws -> Mount {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let destination = parts[0]
        guard destination.hasPrefix("/"), destination != "/" else {
            throw EngineError.invalidOption("invalid --tmpfs '\(text)': the path must be absolute and not /")
        }
        var options = defaults
        var data: [(String, String)] = []
        for option in parts.count > 1 ? parts[1].split(separator: ",").map(String.init) : [] {
            if let opposite = opposites[option] {
                options.removeAll { $0 == opposite || $0 == option }
                options.append(option)
            } else if otherFlags.contains(option) {
                if !options.contains(option) { options.append(option) }
            } else if let equals = option.firstIndex(of: "=") {
                let key = String(option[..<equals]), value = String(option[option.index(after: equals)...])
                try check(key: key, value: value, in: text)
                data.removeAll { $0.0 == key }
                data.append((key, value))
            } else {
                throw EngineError.invalidOption(
                    "invalid --tmpfs option '\(option)' in '\(text)': use ro, rw, [no]exec, [no]suid, [no]dev, size=, mode=, uid=, gid=, nr_inodes="
                )
            }
        }
        return Mount(destination: destination, type: "tmpfs", source: "tmpfs", options: options + data.map { "\($0.0)=\($0.1)" })
    }

    static func check(key: String, value: String, in text: String) throws {
        func fail(_ why: String) -> EngineError { .invalidOption("invalid --tmpfs option '\(key)=\(value)' in '\(text)': \(why)") }
        switch key {
        case "size", "nr_blocks", "nr_inodes":
            var digits = Substring(value)
            if let last = digits.last, "kKmMgGtT%".contains(last) { digits = digits.dropLast() }
            guard !digits.isEmpty, digits.allSatisfy(\.isNumber) else { throw fail("use a number with an optional k, m, g suffix or %") }
        case "mode":
            guard !value.isEmpty, value.count <= 4, value.allSatisfy({ ("0"..."7").contains($0) }) else {
                throw fail("use an octal mode such as 1777")
            }
        case "uid", "gid":
            guard UInt32(value) != nil else { throw fail("use a numeric ID") }
        default:
            throw fail("unknown option")
        }
    }
}

import OCISpec

/// docker's `--ulimit name=soft[:hard]` (`-1` is unlimited; without a hard limit it equals the
/// soft one), turned into an OCI rlimit.
public enum UlimitOption {
    /// The names docker accepts and their rlimit types.
    static let names: [String: String] = [
        "as": "RLIMIT_AS", "core": "RLIMIT_CORE", "cpu": "RLIMIT_CPU", "data": "RLIMIT_DATA", "fsize": "RLIMIT_FSIZE",
        "locks": "RLIMIT_LOCKS", "memlock": "RLIMIT_MEMLOCK", "msgqueue": "RLIMIT_MSGQUEUE", "nice": "RLIMIT_NICE",
        "nofile": "RLIMIT_NOFILE", "nproc": "RLIMIT_NPROC", "rss": "RLIMIT_RSS", "rtprio": "RLIMIT_RTPRIO",
        "rttime": "RLIMIT_RTTIME", "sigpending": "RLIMIT_SIGPENDING", "stack": "RLIMIT_STACK",
    ]
    static let unlimited = UInt64.max

    public static func parse(_ text: String) throws -> Rlimit {
        let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, let type = names[parts[0].lowercased()] else {
            throw EngineError.invalidOption(
                "invalid --ulimit '\(text)': use name=soft[:hard] with a name among \(names.keys.sorted().joined(separator: ", "))")
        }
        let values = parts[1].split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard values.count == 1 || values.count == 2 else {
            throw EngineError.invalidOption("invalid --ulimit '\(text)': use name=soft[:hard]")
        }
        func value(_ string: String) throws -> UInt64 {
            if string == "-1" { return unlimited }
            guard let number = UInt64(string) else {
                throw EngineError.invalidOption("invalid --ulimit '\(text)': '\(string)' is not a number (use -1 for unlimited)")
            }
            return number
        }
        let soft = try value(values[0])
        let hard = values.count == 2 ? try value(values[1]) : soft
        guard soft <= hard else {
            throw EngineError.invalidOption("invalid --ulimit '\(text)': the soft limit \(values[0]) is above the hard limit \(values[1])")
        }
        if type == "RLIMIT_NOFILE", hard == unlimited {
            throw EngineError.invalidOption("invalid --ulimit '\(text)': nofile cannot be unlimited (the kernel caps it at fs.nr_open)")
        }
        return Rlimit(type: type, hard: hard, soft: soft)
    }

    /// Parses every `--ulimit`; a later one for the same name replaces an earlier one.
    public static func parseAll(_ texts: [String]) throws -> [Rlimit] {
        var result: [Rlimit] = []
        for text in texts {
            let limit = try parse(text)
            result.removeAll { $0.type == limit.type }
            result.append(limit)
        }
        return result
    }
}

/// One reading of a container's cgroup counters, v1 or v2, in the units docker reports.
public struct CgroupSample: Sendable, Equatable {
    /// Total CPU time used, nanoseconds.
    public var cpuNanoseconds: UInt64
    /// Memory in use without the reclaimable page cache (docker's "MEM USAGE"), bytes.
    public var memoryUsage: UInt64
    /// The memory limit; nil when there is none.
    public var memoryLimit: UInt64?
    public var pids: UInt64
    public var pidsLimit: UInt64?

    public init(cpuNanoseconds: UInt64, memoryUsage: UInt64, memoryLimit: UInt64?, pids: UInt64, pidsLimit: UInt64?) {
        self.cpuNanoseconds = cpuNanoseconds
        self.memoryUsage = memoryUsage
        self.memoryLimit = memoryLimit
        self.pids = pids
        self.pidsLimit = pidsLimit
    }
}

/// Parses the cgroup files behind `stats` for both hierarchies. Pure over the files' text so
/// the v2 path is unit-tested on a v1 host and the other way round.
public enum CgroupStatsParser {
    /// `key value` lines (memory.stat, cpu.stat).
    public static func keyValues(_ text: String) -> [String: UInt64] {
        var result: [String: UInt64] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2, let value = UInt64(parts[1]) { result[String(parts[0])] = value }
        }
        return result
    }

    /// A limit file: a number, or "max" (v2) / a value near 2^63 (v1's "unlimited").
    public static func limit(_ text: String?) -> UInt64? {
        guard let text = text?.split(separator: "\n").first.map(String.init), text != "max", let value = UInt64(text) else { return nil }
        return value >= (UInt64(1) << 62) ? nil : value
    }

    static func number(_ text: String?) -> UInt64 {
        text.flatMap { UInt64($0.split(separator: "\n").first ?? "") } ?? 0
    }

    /// v1: memory.usage_in_bytes minus total_inactive_file, cpuacct.usage in ns.
    public static func v1(
        memoryUsage: String?, memoryStat: String?, memoryLimit: String?, cpuacctUsage: String?,
        pidsCurrent: String?, pidsMax: String?
    ) -> CgroupSample {
        let usage = number(memoryUsage)
        let stat = keyValues(memoryStat ?? "")
        let inactive = stat["total_inactive_file"] ?? stat["inactive_file"] ?? 0
        return CgroupSample(
            cpuNanoseconds: number(cpuacctUsage), memoryUsage: usage > inactive ? usage - inactive : usage,
            memoryLimit: limit(memoryLimit), pids: number(pidsCurrent), pidsLimit: limit(pidsMax))
    }

    /// v2: memory.current minus inactive_file, cpu.stat usage_usec in µs.
    public static func v2(
        memoryCurrent: String?, memoryStat: String?, memoryMax: String?, cpuStat: String?,
        pidsCurrent: String?, pidsMax: String?
    ) -> CgroupSample {
        let usage = number(memoryCurrent)
        let inactive = keyValues(memoryStat ?? "")["inactive_file"] ?? 0
        let cpu = keyValues(cpuStat ?? "")["usage_usec"] ?? 0
        return CgroupSample(
            cpuNanoseconds: cpu * 1000, memoryUsage: usage > inactive ? usage - inactive : usage,
            memoryLimit: limit(memoryMax), pids: number(pidsCurrent), pidsLimit: limit(pidsMax))
    }

    /// Whether the cgroup's OOM killer killed one of its processes: the `oom_kill` count of v1's
    /// memory.oom_control (Linux 4.13 and later) or cgroup2's memory.events; on an older v1
    /// kernel without that count, a limit that was hit (failcnt) and a program killed by SIGKILL.
    public static func oomKilled(oomControl: String?, failcnt: String?, memoryEvents: String?, exitCode: Int32) -> Bool {
        for text in [oomControl, memoryEvents].compactMap({ $0 }) {
            if let kills = keyValues(text)["oom_kill"] { return kills > 0 }
        }
        guard oomControl != nil, let failcnt else { return false }
        return number(failcnt) > 0 && exitCode == 128 + 9
    }

    /// docker's CPU %: CPU time used over wall time, 100% per fully used CPU.
    public static func cpuPercent(previous: UInt64, current: UInt64, wallNanoseconds: UInt64) -> Double {
        guard wallNanoseconds > 0, current >= previous else { return 0 }
        return Double(current - previous) / Double(wallNanoseconds) * 100
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// The fields of /proc/PID/stat that tell whether a pid still names the process we started.
public struct ProcStat: Sendable, Equatable {
    /// Single-letter state: R, S, D, Z (zombie), T, ...
    public var state: Character
    /// Start time in clock ticks after boot; with the pid it identifies a process uniquely.
    public var startTime: UInt64

    /// Parses a stat line; the command name may itself contain spaces and parentheses.
    public init?(statLine: String) {
        guard let close = statLine.lastIndex(of: ")") else { return nil }
        let rest = statLine[statLine.index(after: close)...].split(separator: " ")
        // rest[0] is the state (field 3); start time is field 22, i.e. rest[19].
        guard rest.count > 19, let state = rest[0].first, let start = UInt64(rest[19]) else { return nil }
        self.state = state
        self.startTime = start
    }

    /// Reads /proc/PID/stat; nil if the process does not exist.
    public static func read(pid: Int32) -> ProcStat? {
        guard let text = try? FileIO.readString("/proc/\(pid)/stat") else { return nil }
        return ProcStat(statLine: text)
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// The fields of /proc/PID/stat that tell whether a pid still names the process we started.
public struct ProcStat: Sendable, Equatable {
    /// Single-letter state: R, S, D, Z (zombie), T, ...
    public var state: Character
    /// Start time in clock ticks after boot; with the pid it identifies a process uniquely.
    public var startTime: UInt64
    /// The parent's pid (field 4).
    public var parentPid: Int32

    /// Parses a stat line; the command name may itself contain spaces and parentheses.
    public init?(statLine: String) {
        guard let close = statLine.lastIndex(of: ")") else { return nil }
        let rest = statLine[statLine.index(after: close)...].split(separator: " ")
        // rest[0] is the state (field 3); start time is field 22, i.e. rest[19].
        guard rest.count > 19, let state = rest[0].first, let parent = Int32(rest[1]), let start = UInt64(rest[19]) else { return nil }
        self.state = state
        self.parentPid = parent
        self.startTime = start
    }

    /// Reads /proc/PID/stat; nil if the process does not exist.
    public static func read(pid: Int32) -> ProcStat? {
        guard let text = try? FileIO.readString("/proc/\(pid)/stat") else { return nil }
        return ProcStat(statLine: text)
    }
}

/// A process's identity as a name component: pid plus kernel start time, so a name made by a
/// process tells whether its maker is still alive (a recycled pid has another start time). Used
/// for temporary files and directories that only their maker may remove while it lives.
public struct ProcessLease: Sendable, Equatable {
    public let pid: Int32
    public let startTime: UInt64

    public static let current: ProcessLease = {
        let pid = getpid()
        return ProcessLease(pid: pid, startTime: ProcStat.read(pid: pid)?.startTime ?? 0)
    }()

    public init(pid: Int32, startTime: UInt64) {
        self.pid = pid
        self.startTime = startTime
    }

    /// `<prefix>-<pid>-<start time>-<random>`: unique for every call.
    public func name(prefix: String) -> String {
        var random = SystemRandomNumberGenerator()
        return "\(prefix)-\(pid)-\(startTime)-\(String(random.next(), radix: 36))"
    }

    /// The lease in a name `name(prefix:)` made, or nil when the name is not one.
    public static func parse(name: String, prefix: String) -> ProcessLease? {
        guard name.hasPrefix(prefix + "-") else { return nil }
        let fields = name.dropFirst(prefix.count + 1).split(separator: "-")
        guard fields.count >= 3, let pid = Int32(fields[0]), let start = UInt64(fields[1]) else { return nil }
        return ProcessLease(pid: pid, startTime: start)
    }

    /// Whether the process named in `name` still runs (an unparsable name counts as alive: it is
    /// not ours to remove).
    public static func isAlive(name: String, prefix: String) -> Bool {
        guard let lease = parse(name: name, prefix: prefix) else { return true }
        return lease.isAlive
    }

    public var isAlive: Bool {
        guard let stat = ProcStat.read(pid: pid), stat.state != "Z" else { return false }
        return stat.startTime == startTime
    }
}

extension ProcStat {
    /// Every process's id, from the numeric names in /proc.
    public static func allPids() -> [Int32] {
        ((try? FileIO.listDirectory("/proc")) ?? []).compactMap { Int32($0) }
    }

    /// A process's non-empty arguments (/proc/PID/cmdline split at NULs); nil when it is gone,
    /// empty for a kernel thread or a zombie.
    public static func commandLine(pid: Int32) -> [String]? {
        guard let bytes = try? FileIO.read("/proc/\(pid)/cmdline") else { return nil }
        return bytes.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    }
}

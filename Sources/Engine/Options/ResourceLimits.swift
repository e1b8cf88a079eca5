#if canImport(Glibc)
import Glibc
#endif
import LinuxSupport
import OCISpec

/// docker's resource flags (`run`, `create`, `update`): checked as docker checks them and turned
/// into the spec's cgroup limits. One home for both the run path and `update`.
public struct ResourceLimits: Sendable, Equatable {
    /// Bytes; docker's minimum is 6 MB.
    public var memory: Int64?
    /// `--memory-swap`: memory plus swap, bytes; -1 for unlimited swap.
    public var memorySwap: Int64?
    public var memoryReservation: Int64?
    public var memorySwappiness: Int64?
    public var oomKillDisable = false
    public var cpus: Double?
    public var cpuShares: UInt64?
    public var cpuQuota: Int64?
    public var cpuPeriod: UInt64?
    public var cpusetCpus: String?
    public var cpusetMems: String?
    public var pidsLimit: Int64?
    public var blkioWeight: UInt16?

    public static let minimumMemory: Int64 = 6 * 1024 * 1024

    public init() {}

    /// Whether any limit is set (`update` with none is refused).
    public var isEmpty: Bool { self == ResourceLimits() }

    /// What the host has, for the checks docker makes against it.
    public struct Host: Sendable, Equatable {
        public var cpuCount: Int
        public var onlineCPUs: Set<Int>
        public var memoryNodes: Set<Int>
        /// On cgroup2 the OOM killer cannot be disabled (docker warns and drops the flag).
        public var pureCgroup2: Bool
        /// Whether the IO controller has a weight here (it needs the BFQ or CFQ scheduler);
        /// without one, docker warns and drops --blkio-weight.
        public var blkioWeight: Bool

        public init(cpuCount: Int, onlineCPUs: Set<Int>, memoryNodes: Set<Int>, pureCgroup2: Bool, blkioWeight: Bool = true) {
            (self.cpuCount, self.onlineCPUs, self.memoryNodes, self.pureCgroup2) = (cpuCount, onlineCPUs, memoryNodes, pureCgroup2)
            self.blkioWeight = blkioWeight
        }

        public static func detect() -> Host {
            let count = max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
            let online = (try? FileIO.readString("/sys/devices/system/cpu/online")).flatMap { try? ResourceLimits.parseList($0.trimmed) }
            let nodes = (try? FileIO.readString("/sys/devices/system/node/online")).flatMap { try? ResourceLimits.parseList($0.trimmed) }
            let pure = FileIO.exists("/sys/fs/cgroup/cgroup.controllers")
            // cgroup2 shows io.weight / io.bfq.weight in non-root groups only; the scheduler's
            // own files say whether a weight means anything.
            let weight =
                pure
                ? ((try? FileIO.readString("/sys/fs/cgroup/cgroup.controllers")) ?? "").split(separator: " ").contains("io")
                    && FileIO.exists("/sys/block") && BlockSchedulers.anyWeighted()
                : FileIO.exists("/sys/fs/cgroup/blkio/blkio.weight") || FileIO.exists("/sys/fs/cgroup/blkio/blkio.bfq.weight")
            return Host(
                cpuCount: count, onlineCPUs: online ?? Set(0..<count), memoryNodes: nodes ?? [0], pureCgroup2: pure,
                blkioWeight: weight)
        }
    }

    /// The cgroup limits, after docker's checks; `warnings` collects what is dropped (docker's
    /// "Your kernel does not support ..."). `base` keeps what the spec already has (devices).
    public func apply(to base: Resources, host: Host, warnings: inout [String]) throws(EngineError) -> Resources {
        var resources = base
        var memory = resources.memory ?? Resources.Memory()
        if let limit = self.memory {
            guard limit >= Self.minimumMemory else {
                throw .invalidOption("--memory \(limit) bytes is below the minimum of 6 MB a container can start with")
            }
            memory.limit = limit
        }
        if let swap = memorySwap {
            guard let limit = self.memory else {
                throw .invalidOption("--memory-swap needs --memory: it is the total of memory and swap")
            }
            guard swap == -1 || swap >= limit else {
                throw .invalidOption("--memory-swap (\(swap)) must be at least --memory (\(limit)), or -1 for unlimited swap")
            }
            memory.swap = swap
        }
        if let reservation = memoryReservation {
            guard reservation >= Self.minimumMemory else { throw .invalidOption("--memory-reservation is below the minimum of 6 MB") }
            if let limit = self.memory, reservation > limit {
                throw .invalidOption("--memory-reservation (\(reservation)) must be at most --memory (\(limit))")
            }
            memory.reservation = reservation
        }
        if let swappiness = memorySwappiness {
            guard (0...100).contains(swappiness) else { throw .invalidOption("--memory-swappiness must be between 0 and 100") }
            if host.pureCgroup2 {
                warnings.append("--memory-swappiness has no cgroup2 equivalent on this host: dropped")
            } else {
                memory.swappiness = UInt64(swappiness)
            }
        }
        if oomKillDisable {
            if host.pureCgroup2 {
                warnings.append("--oom-kill-disable cannot be applied on cgroup2 (the kernel has no such switch there): dropped")
            } else {
                if self.memory == nil { warnings.append("--oom-kill-disable without --memory lets the container take the host down") }
                memory.disableOOMKiller = true
            }
        }
        if memory != Resources.Memory() { resources.memory = memory }

        var cpu = resources.cpu ?? Resources.CPU()
        if let cpus {
            guard cpus > 0, cpus <= Double(host.cpuCount) else {
                throw .invalidOption(
                    "--cpus \(cpus): the range is 0.01 to \(host.cpuCount).00, as there are only \(host.cpuCount) CPUs available")
            }
            guard cpuQuota == nil, cpuPeriod == nil else {
                throw .invalidOption("--cpus and --cpu-period/--cpu-quota cannot both be set: --cpus is quota over a 100 ms period")
            }
            cpu.period = 100_000
            cpu.quota = Int64((cpus * 100_000).rounded())
        }
        if let period = cpuPeriod {
            guard (1000...1_000_000).contains(period) else {
                throw .invalidOption("--cpu-period must be between 1000 and 1000000 microseconds")
            }
            cpu.period = period
        }
        if let quota = cpuQuota {
            guard quota == -1 || quota >= 1000 else { throw .invalidOption("--cpu-quota must be at least 1000 microseconds, or -1") }
            cpu.quota = quota
        }
        if let shares = cpuShares {
            guard shares == 0 || shares >= 2 else { throw .invalidOption("--cpu-shares must be at least 2") }
            if shares > 0 { cpu.shares = min(shares, 262_144) }
        }
        if let text = cpusetCpus {
            let wanted = try Self.checkedList(text, option: "--cpuset-cpus")
            guard wanted.isSubset(of: host.onlineCPUs) else {
                throw .invalidOption(
                    "--cpuset-cpus \(text): requested CPUs are not available (this host has \(Self.format(host.onlineCPUs)))")
            }
            cpu.cpus = text
        }
        if let text = cpusetMems {
            let wanted = try Self.checkedList(text, option: "--cpuset-mems")
            guard wanted.isSubset(of: host.memoryNodes) else {
                throw .invalidOption(
                    "--cpuset-mems \(text): requested memory nodes are not available (this host has \(Self.format(host.memoryNodes)))")
            }
            cpu.mems = text
        }
        if cpu != Resources.CPU() { resources.cpu = cpu }

        if let pids = pidsLimit { resources.pids = Resources.Pids(limit: pids <= 0 ? -1 : pids) }
        if let weight = blkioWeight {
            guard weight == 0 || (10...1000).contains(weight) else { throw .invalidOption("--blkio-weight must be between 10 and 1000") }
            if weight > 0 {
                if host.blkioWeight {
                    resources.blockIO = Resources.BlockIO(weight: weight)
                } else {
                    warnings.append("this host's block IO scheduler has no weights (no BFQ or CFQ): --blkio-weight dropped")
                }
            }
        }
        return resources
    }

    static func checkedList(_ text: String, option: String) throws(EngineError) -> Set<Int> {
        do {
            return try parseList(text)
        } catch {
            throw .invalidOption("\(option) '\(text)': use a list such as 0-3 or 0,2")
        }
    }

    struct BadList: Error {}

    /// "0-3,5" as the kernel writes CPU and node lists.
    static func parseList(_ text: String) throws -> Set<Int> {
        var result = Set<Int>()
        guard !text.isEmpty else { throw BadList() }
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
            guard (1...2).contains(bounds.count), let low = bounds[0], let high = bounds.last ?? nil, low >= 0, low <= high, high < 65536
            else { throw BadList() }
            result.formUnion(low...high)
        }
        return result
    }

    static func format(_ set: Set<Int>) -> String { set.sorted().map(String.init).joined(separator: ",") }
}

/// The block devices' IO schedulers: a weight needs BFQ (or CFQ on old kernels).
enum BlockSchedulers {
    static func anyWeighted() -> Bool {
        for device in (try? FileIO.listDirectory("/sys/block")) ?? [] {
            let scheduler = (try? FileIO.readString("/sys/block/\(device)/queue/scheduler")) ?? ""
            if scheduler.contains("bfq") || scheduler.contains("cfq") { return true }
        }
        return false
    }
}

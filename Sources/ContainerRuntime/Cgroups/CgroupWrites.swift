import LinuxSupport
import OCISpec

/// One file write that applies a resource limit: (controller, file, value).
public struct CgroupWrite: Equatable, Sendable {
    public var controller: String
    public var file: String
    public var value: String
    public init(_ controller: String, _ file: String, _ value: String) {
        self.controller = controller
        self.file = file
        self.value = value
    }
}

/// Translates `linux.resources` into cgroup file writes. Pure, so every rule is unit-tested.
public enum CgroupWrites {
    /// Writes for the v1 controllers, in the order they must happen.
    public static func v1(_ r: Resources, extraDevices: [Device] = []) -> [CgroupWrite] {
        var w: [CgroupWrite] = []
        if let m = r.memory {
            if let v = m.limit { w.append(.init("memory", "memory.limit_in_bytes", "\(v)")) }
            if let v = m.reservation { w.append(.init("memory", "memory.soft_limit_in_bytes", "\(v)")) }
            if let v = m.swap { w.append(.init("memory", "memory.memsw.limit_in_bytes", "\(v)")) }
            if let v = m.swappiness { w.append(.init("memory", "memory.swappiness", "\(v)")) }
            if m.disableOOMKiller == true { w.append(.init("memory", "memory.oom_control", "1")) }
        }
        if let c = r.cpu {
            if let v = c.shares, v != 0 { w.append(.init("cpu", "cpu.shares", "\(v)")) }
            if let v = c.period, v != 0 { w.append(.init("cpu", "cpu.cfs_period_us", "\(v)")) }
            if let v = c.quota, v != 0 { w.append(.init("cpu", "cpu.cfs_quota_us", "\(v)")) }
            // The burst may not exceed the quota: after it.
            if let v = c.burst { w.append(.init("cpu", "cpu.cfs_burst_us", "\(v)")) }
            if let v = c.idle { w.append(.init("cpu", "cpu.idle", "\(v)")) }
            if let v = c.realtimePeriod, v != 0 { w.append(.init("cpu", "cpu.rt_period_us", "\(v)")) }
            if let v = c.realtimeRuntime, v != 0 { w.append(.init("cpu", "cpu.rt_runtime_us", "\(v)")) }
            if let v = c.cpus, !v.isEmpty { w.append(.init("cpuset", "cpuset.cpus", v)) }
            if let v = c.mems, !v.isEmpty { w.append(.init("cpuset", "cpuset.mems", v)) }
        }
        if let p = r.pids {
            w.append(.init("pids", "pids.max", p.limit > 0 ? "\(p.limit)" : "max"))
        }
        if let b = r.blockIO {
            if let weight = b.weight { w.append(.init("blkio", "blkio.weight", "\(weight)")) }
            if let weight = b.leafWeight { w.append(.init("blkio", "blkio.leaf_weight", "\(weight)")) }
            for d in b.weightDevice ?? [] {
                if let weight = d.weight { w.append(.init("blkio", "blkio.weight_device", "\(d.major):\(d.minor) \(weight)")) }
                if let weight = d.leafWeight { w.append(.init("blkio", "blkio.leaf_weight_device", "\(d.major):\(d.minor) \(weight)")) }
            }
            let throttles = [
                ("read_bps_device", b.throttleReadBpsDevice), ("write_bps_device", b.throttleWriteBpsDevice),
                ("read_iops_device", b.throttleReadIOPSDevice), ("write_iops_device", b.throttleWriteIOPSDevice),
            ]
            for (file, devices) in throttles {
                for d in devices ?? [] { w.append(.init("blkio", "blkio.throttle." + file, "\(d.major):\(d.minor) \(d.rate)")) }
            }
        }
        for h in r.hugepageLimits ?? [] {
            w.append(.init("hugetlb", "hugetlb.\(h.pageSize).limit_in_bytes", "\(h.limit)"))
        }
        if let n = r.network {
            if let id = n.classID { w.append(.init("net_cls", "net_cls.classid", "\(id)")) }
            for p in n.priorities ?? [] { w.append(.init("net_prio", "net_prio.ifpriomap", "\(p.name) \(p.priority)")) }
        }
        for rule in deviceRules(r.devices, extraDevices: extraDevices) {
            w.append(.init("devices", rule.allow ? "devices.allow" : "devices.deny", rule.v1Line))
        }
        return w
    }

    /// Checks every hugetlb page size against the kernel's (`HugePageSizes.onHost`), spelled as
    /// the kernel names them in hugetlb files ("2MB", "1GB"): an unknown size would otherwise be
    /// a file that does not exist, or on some layouts no write at all.
    public static func checkHugepageLimits(_ limits: [Resources.HugepageLimit]?, available: [String]) throws {
        for h in limits ?? [] where !available.contains(h.pageSize) {
            let known = available.isEmpty ? "none: this kernel has no huge pages" : available.joined(separator: ", ")
            throw RuntimeError.invalidConfig(
                "linux.resources.hugepageLimits: page size '\(h.pageSize)' is not one this kernel supports (\(known)): use one of those, spelled the same way"
            )
        }
    }

    /// Writes for a cgroup2 directory, in order.
    public static func v2(_ r: Resources) -> [CgroupWrite] {
        var w: [CgroupWrite] = []
        if let m = r.memory {
            if let v = m.reservation { w.append(.init("memory", "memory.low", limit(v))) }
            if let v = m.limit { w.append(.init("memory", "memory.max", limit(v))) }
            if let swap = m.swap {
                // The spec's swap is memory+swap; cgroup2 limits swap alone.
                let value: String
                if swap < 0 { value = "max" } else if let l = m.limit, l > 0 { value = "\(max(swap - l, 0))" } else { value = "\(swap)" }
                w.append(.init("memory", "memory.swap.max", value))
            }
        }
        if let c = r.cpu {
            if let shares = c.shares, shares != 0 { w.append(.init("cpu", "cpu.weight", "\(sharesToWeight(shares))")) }
            if c.quota != nil || c.period != nil {
                let quota = c.quota.map { $0 > 0 ? "\($0)" : "max" } ?? "max"
                w.append(.init("cpu", "cpu.max", "\(quota) \(c.period ?? 100_000)"))
            }
            if let v = c.burst { w.append(.init("cpu", "cpu.max.burst", "\(v)")) }
            if let v = c.idle { w.append(.init("cpu", "cpu.idle", "\(v)")) }
            if let v = c.cpus, !v.isEmpty { w.append(.init("cpuset", "cpuset.cpus", v)) }
            if let v = c.mems, !v.isEmpty { w.append(.init("cpuset", "cpuset.mems", v)) }
        }
        if let p = r.pids { w.append(.init("pids", "pids.max", p.limit > 0 ? "\(p.limit)" : "max")) }
        if let b = r.blockIO {
            if let weight = b.weight { w.append(.init("io", "io.bfq.weight", "\(weight)")) }
            for d in b.weightDevice ?? [] {
                if let weight = d.weight { w.append(.init("io", "io.bfq.weight", "\(d.major):\(d.minor) \(weight)")) }
            }
            // io.max takes every limit of one device on one line.
            var limits: [String: [String]] = [:]
            var order: [String] = []
            let throttles = [
                ("rbps", b.throttleReadBpsDevice), ("wbps", b.throttleWriteBpsDevice),
                ("riops", b.throttleReadIOPSDevice), ("wiops", b.throttleWriteIOPSDevice),
            ]
            for (key, devices) in throttles {
                for d in devices ?? [] {
                    let device = "\(d.major):\(d.minor)"
                    if limits[device] == nil { order.append(device) }
                    limits[device, default: []].append("\(key)=\(d.rate)")
                }
            }
            for device in order { w.append(.init("io", "io.max", ([device] + limits[device]!).joined(separator: " "))) }
        }
        for h in r.hugepageLimits ?? [] {
            w.append(.init("hugetlb", "hugetlb.\(h.pageSize).max", "\(h.limit)"))
        }
        for (file, value) in (r.unified ?? [:]).sorted(by: { $0.key < $1.key }) {
            let controller = file.split(separator: ".").first.map(String.init) ?? file
            w.append(.init(controller, file, value))
        }
        return w
    }

    /// cgroup v1 cpu.shares (2..262144) to cgroup2 cpu.weight (1..10000), as runc converts it.
    public static func sharesToWeight(_ shares: UInt64) -> UInt64 {
        1 + ((min(max(shares, 2), 262_144) - 2) * 9999) / 262_142
    }

    static func limit(_ v: Int64) -> String { v < 0 ? "max" : "\(v)" }

    /// The devices cgroup rules in effect: deny everything, the config's rules in order, then the
    /// devices every container gets and the ones listed in linux.devices (full access, unless the
    /// config has a rule for that very device: then its access is what the config says, as
    /// docker's `--device HOST:CTR:r` expects). Fifos in linux.devices get no rule.
    public static func deviceRules(_ rules: [Resources.DeviceRule]?, extraDevices: [Device]) -> [Resources.DeviceRule] {
        var out: [Resources.DeviceRule] = [.init(allow: false, type: "a", access: "rwm")]
        out += rules ?? []
        out += DefaultDevices.cgroupRules
        // Only device nodes are governed by the devices cgroup: a fifo ("p") needs no rule, and
        // devices.allow takes no "p" (it only knows a, b and c).
        for d in extraDevices where ["c", "b", "u"].contains(d.type) {
            let type = d.type == "u" ? "c" : d.type
            let configured = (rules ?? []).contains { $0.allow && $0.type == type && $0.major == d.major && $0.minor == d.minor }
            if !configured { out.append(.init(allow: true, type: type, major: d.major, minor: d.minor, access: "rwm")) }
        }
        return out
    }
}

extension Resources.DeviceRule {
    /// "c 1:3 rwm", with "*" for wildcards, as devices.allow expects.
    var v1Line: String {
        let t = (type ?? "a").isEmpty ? "a" : (type ?? "a")
        if t == "a" && major == nil && minor == nil { return "a *:* \(access ?? "rwm")" }
        let ma = major.map { $0 < 0 ? "*" : "\($0)" } ?? "*"
        let mi = minor.map { $0 < 0 ? "*" : "\($0)" } ?? "*"
        return "\(t) \(ma):\(mi) \(access ?? "rwm")"
    }
}

/// The huge page sizes of this kernel, named as its hugetlb cgroup files name them.
public enum HugePageSizes {
    /// The kernel's name for a page size: "64KB", "2MB", "1GB" (whole units, largest that fits).
    public static func kernelName(kilobytes: UInt64) -> String {
        if kilobytes >= 1 << 20 && kilobytes % (1 << 20) == 0 { return "\(kilobytes >> 20)GB" }
        if kilobytes >= 1 << 10 && kilobytes % (1 << 10) == 0 { return "\(kilobytes >> 10)MB" }
        return "\(kilobytes)KB"
    }

    /// Sizes from the directory names under /sys/kernel/mm/hugepages ("hugepages-2048kB"), smallest first.
    public static func parse(directoryNames: [String]) -> [String] {
        directoryNames.compactMap { name -> UInt64? in
            guard name.hasPrefix("hugepages-"), name.hasSuffix("kB") else { return nil }
            return UInt64(name.dropFirst("hugepages-".count).dropLast(2))
        }.sorted().map { kernelName(kilobytes: $0) }
    }

    public static func onHost() -> [String] {
        parse(directoryNames: (try? FileIO.listDirectory("/sys/kernel/mm/hugepages")) ?? [])
    }
}

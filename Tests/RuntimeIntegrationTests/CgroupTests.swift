import ContainerRuntime
import Foundation
import OCISpec
import Testing

/// Resource limits, read back from inside the container's own cgroup view.
@Suite(.enabled(if: TestEnvironment.canRunContainers, "needs root and busybox-static: run scripts/test.sh as root"))
struct CgroupTests {
    static let layout = try? CgroupLayout.detect()

    @Test func memoryCpuAndPidsLimits() throws {
        let b = try TestBundle("limits")
        let hasSwapAccounting = FileManager.default.fileExists(atPath: "/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes")
        b.spec.linux?.resources?.memory = .init(limit: 64 << 20, reservation: 32 << 20, swap: hasSwapAccounting ? 128 << 20 : nil)
        b.spec.linux?.resources?.cpu = .init(shares: 512, quota: 50_000, period: 100_000, cpus: "0", mems: "0")
        b.spec.linux?.resources?.pids = .init(limit: 42)
        let isV2 = Self.layout?.isPureV2 ?? false
        if isV2 {
            b.shell(
                "cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/memory.low /sys/fs/cgroup/cpu.max /sys/fs/cgroup/pids.max /sys/fs/cgroup/cpuset.cpus /sys/fs/cgroup/cpuset.mems"
            )
        } else {
            b.shell(
                "cd /sys/fs/cgroup; cat memory/memory.limit_in_bytes memory/memory.soft_limit_in_bytes cpu/cpu.shares cpu/cpu.cfs_quota_us cpu/cpu.cfs_period_us pids/pids.max cpuset/cpuset.cpus cpuset/cpuset.mems; cat memory/memory.memsw.limit_in_bytes 2>/dev/null"
            )
        }
        let r = try b.run()
        if isV2 {
            #expect(r.out == "67108864\n33554432\n50000 100000\n42\n0\n0\n", "\(r)")
        } else {
            let swap = hasSwapAccounting ? "134217728\n" : ""
            #expect(r.out == "67108864\n33554432\n512\n50000\n100000\n42\n0\n0\n" + swap, "\(r)")
        }
        #expect(b.cgroupDirectories.allSatisfy { !FileManager.default.fileExists(atPath: $0) }, "cgroups removed")
    }

    /// A hugetlb limit lands in the hugetlb hierarchy, whichever it is here (v1, the unified
    /// hierarchy of a hybrid host, or pure cgroup2 through a private view), read back inside.
    /// Whether some hierarchy can take hugetlb limits: a mounted v1 hierarchy, or cgroup2 holding
    /// the controller (a v1 hierarchy unmounted while still alive keeps it from both).
    static var hugetlbAvailable: Bool {
        guard let layout else { return false }
        return layout.v1["hugetlb"] != nil || layout.unifiedControllers.contains("hugetlb")
    }

    @Test(
        .enabled(if: HugePageSizes.onHost().contains("2MB"), "this kernel has no 2MB huge pages"),
        .enabled(if: hugetlbAvailable, "the hugetlb controller is in no hierarchy this host has mounted"),
        arguments: [false, true])
    func hugetlbLimit(pureCgroup2View: Bool) throws {
        let b = try TestBundle("hugetlb")
        b.pureCgroup2View = pureCgroup2View
        b.spec.linux?.resources?.hugepageLimits = [.init(pageSize: "2MB", limit: 4 << 20)]
        let layout = try #require(Self.layout)
        let file: String
        if pureCgroup2View || layout.isPureV2 {
            file = "/sys/fs/cgroup/hugetlb.2MB.max"
        } else if let v1 = layout.v1["hugetlb"] {
            file = "/sys/fs/cgroup/\(v1.split(separator: "/").last ?? "hugetlb")/hugetlb.2MB.limit_in_bytes"
        } else {
            let unified = try #require(layout.unified, "no hugetlb hierarchy on this host")
            file = "/sys/fs/cgroup/\(unified.split(separator: "/").last ?? "unified")/hugetlb.2MB.max"
        }
        b.shell("cat \(file)")
        let r = try b.run()
        #expect(r.code == 0 && r.out == "4194304\n", "\(file): \(r)")
    }

    /// linux.resources.network reaches net_cls/net_prio where they are mounted (read back
    /// inside); where they are not (or on cgroup2) create fails, instead of dropping it.
    @Test(arguments: [false, true])
    func networkClassIDAndPriorities(pureCgroup2View: Bool) throws {
        let b = try TestBundle("netcls")
        b.pureCgroup2View = pureCgroup2View
        b.spec.linux?.resources?.network = .init(classID: 1_048_577, priorities: [.init(name: "lo", priority: 5)])
        let layout = try #require(Self.layout)
        if !pureCgroup2View, let netCls = layout.v1["net_cls"], let netPrio = layout.v1["net_prio"] {
            let cls = netCls.split(separator: "/").last.map(String.init) ?? "net_cls"
            let prio = netPrio.split(separator: "/").last.map(String.init) ?? "net_prio"
            b.shell("cat /sys/fs/cgroup/\(cls)/net_cls.classid; grep '^lo ' /sys/fs/cgroup/\(prio)/net_prio.ifpriomap")
            let r = try b.run()
            #expect(r.code == 0 && r.out == "1048577\nlo 5\n", "\(r)")
        } else {
            b.shell("true")
            let r = try b.create()
            #expect(r.code != 0 && r.err.contains("net_cls"), "\(r)")
            #expect(!FileManager.default.fileExists(atPath: b.root + "/" + b.id))
            #expect(b.cgroupDirectories.allSatisfy { !FileManager.default.fileExists(atPath: $0) })
        }
    }

    /// Per-device blkio throttles reach blkio.throttle.* (v1) or io.max (cgroup2), read back
    /// inside, or fail create where the controller is missing; they were dropped before.
    @Test(arguments: [false, true])
    func blockIOThrottles(pureCgroup2View: Bool) throws {
        var st = stat()
        try #require(stat("/", &st) == 0)
        let (major, minor) = (Int64(st.st_dev >> 8) & 0xfff, Int64((st.st_dev & 0xff) | ((st.st_dev >> 12) & 0xfff00)))
        let b = try TestBundle("blkio")
        b.pureCgroup2View = pureCgroup2View
        var blockIO = Resources.BlockIO()
        blockIO.throttleReadBpsDevice = [.init(major: major, minor: minor, rate: 1_048_576)]
        blockIO.throttleWriteIOPSDevice = [.init(major: major, minor: minor, rate: 120)]
        b.spec.linux?.resources?.blockIO = blockIO
        let layout = try #require(Self.layout)
        let unifiedHasIO =
            (try? String(contentsOfFile: (layout.unified ?? "") + "/cgroup.controllers", encoding: .utf8))?
            .split(whereSeparator: { $0 == " " || $0 == "\n" }).contains("io") ?? false
        if !pureCgroup2View, let blkio = layout.v1["blkio"] {
            let dir = blkio.split(separator: "/").last.map(String.init) ?? "blkio"
            b.shell("cat /sys/fs/cgroup/\(dir)/blkio.throttle.read_bps_device /sys/fs/cgroup/\(dir)/blkio.throttle.write_iops_device")
            let r = try b.run()
            #expect(r.code == 0 && r.out == "\(major):\(minor) 1048576\n\(major):\(minor) 120\n", "\(r)")
        } else if pureCgroup2View && unifiedHasIO {
            b.shell("cat /sys/fs/cgroup/io.max")
            let r = try b.run()
            #expect(r.code == 0 && r.out.contains("\(major):\(minor) rbps=1048576 wbps=max riops=max wiops=120"), "\(r)")
        } else {
            b.shell("true")
            let r = try b.create()
            #expect(r.code != 0 && r.err.contains("io.max"), "\(r)")
            #expect(!FileManager.default.fileExists(atPath: b.root + "/" + b.id))
        }
    }

    /// cpu.burst and cpu.idle reach the cpu controller (v1 here, or through a pure cgroup2 view),
    /// read back inside; they were decoded and dropped before.
    @Test(arguments: [false, true])
    func cpuBurstAndIdle(pureCgroup2View: Bool) throws {
        let b = try TestBundle("cpuburst")
        b.pureCgroup2View = pureCgroup2View
        var cpu = Resources.CPU(quota: 50_000, period: 100_000)
        cpu.burst = 20_000
        cpu.idle = 1
        b.spec.linux?.resources?.cpu = cpu
        let layout = try #require(Self.layout)
        let v2 = pureCgroup2View || layout.isPureV2
        let cpuDir = layout.v1["cpu"].flatMap { $0.split(separator: "/").last.map(String.init) } ?? "cpu"
        b.shell(
            v2
                ? "cat /sys/fs/cgroup/cpu.max.burst /sys/fs/cgroup/cpu.idle"
                : "cat /sys/fs/cgroup/\(cpuDir)/cpu.cfs_burst_us /sys/fs/cgroup/\(cpuDir)/cpu.idle")
        let r = try b.run()
        if v2 && !(layout.unifiedControllers.contains("cpu") || layout.isPureV2) {
            // cpu is bound to v1 on this host: cgroup2 has no cpu files to write.
            #expect(r.code != 0 && r.err.contains("the cpu controller is not available"), "\(r)")
        } else {
            #expect(r.code == 0 && r.out == "20000\n1\n", "\(r)")
        }
    }

    /// A page size the kernel does not have is refused before anything is made.
    @Test func unknownHugePageSizeIsRefused() throws {
        let b = try TestBundle("hugetlb-bad")
        b.spec.linux?.resources?.hugepageLimits = [.init(pageSize: "3MB", limit: 4 << 20)]
        b.shell("true")
        let r = try b.create()
        #expect(r.code != 0 && r.err.contains("'3MB'") && r.err.contains("hugepageLimits"), "\(r)")
        #expect(!FileManager.default.fileExists(atPath: b.root + "/" + b.id))
        #expect(b.cgroupDirectories.allSatisfy { !FileManager.default.fileExists(atPath: $0) })
    }

    @Test func pidsLimitIsEnforced() throws {
        let b = try TestBundle("pidsmax")
        b.spec.linux?.resources?.pids = .init(limit: 5)
        b.shell("for i in 1 2 3 4 5 6 7 8; do sleep 2 & done; echo started")
        let r = try b.run()
        #expect(r.err.contains("fork"), "the shell cannot fork past 5 tasks: \(r)")
    }

    @Test func deviceRulesDenyUnlistedDevices() throws {
        // Default devices stay usable; a node made with mknod for a device not allowed cannot be opened.
        let b = try TestBundle("devdeny")
        b.spec.linux?.resources?.devices = [.init(allow: false, access: "rwm")]
        for set in [\Capabilities.bounding, \.effective, \.permitted] {
            b.spec.process?.capabilities?[keyPath: set]?.append("CAP_MKNOD")
        }
        b.shell(
            "head -c1 /dev/zero > /dev/null && echo zero-ok; (mknod /tmp/mem c 1 1 && head -c1 /tmp/mem >/dev/null) 2>/dev/null && echo mem-open || echo mem-denied"
        )
        let r = try b.run()
        #expect(r.out.contains("zero-ok"), "\(r)")
        #expect(r.out.contains("mem-denied"), "\(r)")
    }

    @Test func pauseAndResume() throws {
        let b = try TestBundle("pause")
        b.shell("sleep 30")
        try #require(try b.create().code == 0)
        #expect(try b.runtime(["start", b.id]).code == 0)
        #expect(try b.runtime(["pause", b.id]).code == 0)
        #expect(try b.state()?.status == .paused)
        #expect(try b.runtime(["resume", b.id]).code == 0)
        #expect(try b.state()?.status == .running)
        #expect(try b.runtime(["delete", "--force", b.id]).code == 0)
        #expect(b.cgroupDirectories.allSatisfy { !FileManager.default.fileExists(atPath: $0) })
    }
}

@Suite(.enabled(if: TestEnvironment.canRunContainers, "needs root and busybox-static: run scripts/test.sh as root"))
struct UpdateTests {
    @Test func updateChangesLimitsOfARunningContainer() throws {
        let b = try TestBundle("update")
        b.spec.linux?.resources?.pids = .init(limit: 50)
        b.shell("sleep 30")
        try #require(try b.create().code == 0)
        try #require(try b.runtime(["start", b.id]).code == 0)
        let r = try b.runtime(["update", "--memory", "96m", "--pids-limit", "77", b.id])
        #expect(r.code == 0, "\(r)")
        let json = try b.runtime(["update", "--resources", "-", b.id], stdin: #"{"cpu":{"shares":333}}"#)
        #expect(json.code == 0, "\(json)")
        let isV2 = (try? CgroupLayout.detect())?.isPureV2 ?? false
        let script =
            isV2
            ? "cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max /sys/fs/cgroup/cpu.weight"
            : "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.shares"
        let read = try b.runtime(["exec", b.id, "sh", "-c", script])
        #expect(read.out == (isV2 ? "100663296\n77\n13\n" : "100663296\n77\n333\n"), "\(read)")
        let bad = try b.runtime(["update", "--memory", "lots", b.id])
        #expect(bad.code != 0 && bad.err.contains("--memory"))
    }
}

import OCISpec
import Testing
@testable import ContainerRuntime

@Suite struct CgroupLogicTests {
    @Test func parsesTheHybridLayout() {
        let info = """
            30 25 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec - tmpfs tmpfs ro,mode=755
            31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw
            32 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct
            33 30 0:29 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory
            34 30 0:30 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd
            """
        let layout = CgroupLayout.parse(mountinfo: info)
        #expect(layout.unified == "/sys/fs/cgroup/unified")
        #expect(layout.v1["cpu"] == "/sys/fs/cgroup/cpu,cpuacct")
        #expect(layout.v1["cpuacct"] == "/sys/fs/cgroup/cpu,cpuacct")
        #expect(layout.v1["memory"] == "/sys/fs/cgroup/memory")
        #expect(layout.v1["name=systemd"] == "/sys/fs/cgroup/systemd")
        #expect(!layout.isPureV2)
    }

    @Test func parsesPureV2() {
        let layout = CgroupLayout.parse(mountinfo: "30 25 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate")
        #expect(layout.isPureV2)
    }

    @Test func v1Writes() {
        var r = Resources(
            memory: .init(limit: 1000, reservation: 500, swap: 2000), cpu: .init(shares: 512, quota: 20000, period: 100000, cpus: "0-1"),
            pids: .init(limit: 0))
        r.devices = [.init(allow: true, type: "c", major: 10, minor: -1, access: "rw")]
        let w = CgroupWrites.v1(r)
        #expect(w.contains(CgroupWrite("memory", "memory.limit_in_bytes", "1000")))
        #expect(w.contains(CgroupWrite("memory", "memory.memsw.limit_in_bytes", "2000")))
        #expect(w.contains(CgroupWrite("pids", "pids.max", "max")))
        #expect(w.contains(CgroupWrite("cpuset", "cpuset.cpus", "0-1")))
        let devices = w.filter { $0.controller == "devices" }
        #expect(devices.first == CgroupWrite("devices", "devices.deny", "a *:* rwm"))
        #expect(devices.contains(CgroupWrite("devices", "devices.allow", "c 10:* rw")))
        let period = w.firstIndex(of: CgroupWrite("cpu", "cpu.cfs_period_us", "100000"))
        let quota = w.firstIndex(of: CgroupWrite("cpu", "cpu.cfs_quota_us", "20000"))
        #expect(period != nil && quota != nil && period! < quota!)
    }

    @Test func v2Writes() {
        let r = Resources(memory: .init(limit: 1000, swap: 3000), cpu: .init(shares: 1024, quota: -1, period: 50000), pids: .init(limit: 7))
        let w = CgroupWrites.v2(r)
        #expect(w.contains(CgroupWrite("memory", "memory.max", "1000")))
        #expect(w.contains(CgroupWrite("memory", "memory.swap.max", "2000")))
        #expect(w.contains(CgroupWrite("cpu", "cpu.max", "max 50000")))
        #expect(w.contains(CgroupWrite("cpu", "cpu.weight", "39")))
        #expect(w.contains(CgroupWrite("pids", "pids.max", "7")))
    }

    @Test func blockIODevicesOnV1AndV2() {
        var r = Resources()
        var b = Resources.BlockIO(weight: 500)
        b.weightDevice = [.init(major: 8, minor: 0, weight: 300)]
        b.throttleReadBpsDevice = [.init(major: 8, minor: 0, rate: 1_048_576)]
        b.throttleWriteIOPSDevice = [.init(major: 8, minor: 0, rate: 100), .init(major: 8, minor: 16, rate: 50)]
        r.blockIO = b
        let v1 = CgroupWrites.v1(r)
        #expect(v1.contains(CgroupWrite("blkio", "blkio.weight", "500")))
        #expect(v1.contains(CgroupWrite("blkio", "blkio.weight_device", "8:0 300")))
        #expect(v1.contains(CgroupWrite("blkio", "blkio.throttle.read_bps_device", "8:0 1048576")))
        #expect(v1.contains(CgroupWrite("blkio", "blkio.throttle.write_iops_device", "8:16 50")))
        let v2 = CgroupWrites.v2(r)
        #expect(v2.contains(CgroupWrite("io", "io.bfq.weight", "8:0 300")))
        #expect(v2.contains(CgroupWrite("io", "io.max", "8:0 rbps=1048576 wiops=100")), "\(v2)")
        #expect(v2.contains(CgroupWrite("io", "io.max", "8:16 wiops=50")))
    }

    @Test func cpuBurstAndIdle() {
        var cpu = Resources.CPU(quota: 50_000, period: 100_000)
        cpu.burst = 20_000
        cpu.idle = 1
        let r = Resources(cpu: cpu)
        let v1 = CgroupWrites.v1(r)
        let quota = v1.firstIndex(of: CgroupWrite("cpu", "cpu.cfs_quota_us", "50000"))
        let burst = v1.firstIndex(of: CgroupWrite("cpu", "cpu.cfs_burst_us", "20000"))
        #expect(quota != nil && burst != nil && quota! < burst!, "\(v1)")
        #expect(v1.contains(CgroupWrite("cpu", "cpu.idle", "1")))
        let v2 = CgroupWrites.v2(r)
        #expect(v2.contains(CgroupWrite("cpu", "cpu.max.burst", "20000")) && v2.contains(CgroupWrite("cpu", "cpu.idle", "1")), "\(v2)")
    }

    @Test func networkWritesOnV1() {
        var r = Resources()
        r.network = .init(classID: 1_048_577, priorities: [.init(name: "lo", priority: 2), .init(name: "eth0", priority: 7)])
        let w = CgroupWrites.v1(r)
        #expect(w.contains(CgroupWrite("net_cls", "net_cls.classid", "1048577")), "\(w)")
        #expect(
            w.contains(CgroupWrite("net_prio", "net_prio.ifpriomap", "lo 2"))
                && w.contains(CgroupWrite("net_prio", "net_prio.ifpriomap", "eth0 7")))
    }

    @Test func hugetlbWritesOnV1AndV2() {
        var r = Resources()
        r.hugepageLimits = [.init(pageSize: "2MB", limit: 4_194_304), .init(pageSize: "1GB", limit: 0)]
        let v1 = CgroupWrites.v1(r)
        #expect(v1.contains(CgroupWrite("hugetlb", "hugetlb.2MB.limit_in_bytes", "4194304")), "\(v1)")
        #expect(v1.contains(CgroupWrite("hugetlb", "hugetlb.1GB.limit_in_bytes", "0")))
        let v2 = CgroupWrites.v2(r)
        #expect(v2.contains(CgroupWrite("hugetlb", "hugetlb.2MB.max", "4194304")), "\(v2)")
    }

    @Test func hugePageSizesAreNamedAsTheKernelNamesThem() {
        #expect(HugePageSizes.kernelName(kilobytes: 2048) == "2MB")
        #expect(HugePageSizes.kernelName(kilobytes: 1_048_576) == "1GB")
        #expect(HugePageSizes.kernelName(kilobytes: 64) == "64KB")
        #expect(HugePageSizes.kernelName(kilobytes: 32768) == "32MB")
        #expect(HugePageSizes.parse(directoryNames: ["hugepages-1048576kB", "hugepages-2048kB", "other"]) == ["2MB", "1GB"])
    }

    @Test func unknownHugePageSizesAreRefused() throws {
        let sizes = ["2MB", "1GB"]
        try CgroupWrites.checkHugepageLimits([.init(pageSize: "2MB", limit: 1)], available: sizes)
        for bad in ["3MB", "2048kB", "2M", ""] {
            #expect(throws: RuntimeError.self) {
                try CgroupWrites.checkHugepageLimits([.init(pageSize: "2MB", limit: 1), .init(pageSize: bad, limit: 1)], available: sizes)
            }
        }
        #expect(throws: RuntimeError.self) { try CgroupWrites.checkHugepageLimits([.init(pageSize: "2MB", limit: 1)], available: []) }
    }

    @Test func fifoDevicesGetNoCgroupRule() {
        let devices = [
            Device(type: "p", path: "/dev/fifo"), Device(type: "u", path: "/dev/u", major: 5, minor: 9),
            Device(type: "b", path: "/dev/b", major: 8, minor: 1),
        ]
        let lines = CgroupWrites.v1(Resources(), extraDevices: devices).filter { $0.controller == "devices" }.map(\.value)
        #expect(lines.allSatisfy { $0.first == "a" || $0.first == "b" || $0.first == "c" }, "\(lines)")
        #expect(lines.contains("c 5:9 rwm") && lines.contains("b 8:1 rwm"))
        #expect(
            lines.count
                == CgroupWrites.v1(Resources(), extraDevices: Array(devices.dropFirst())).filter { $0.controller == "devices" }.count)
    }

    @Test func sharesToWeightBounds() {
        #expect(CgroupWrites.sharesToWeight(2) == 1)
        #expect(CgroupWrites.sharesToWeight(262_144) == 10000)
    }

    /// A host that gives this process no cgroups to make (sysfs refuses mkdir even to root, as a
    /// read-only or undelegated cgroup tree does): the error says what to do and where to read.
    @Test func anUnwritableHierarchyPointsAtDelegation() throws {
        let cgroup = Cgroup(v1Paths: [:], unifiedPath: "/sys/skiff-no-cgroups-here/c1", pureV2: false)
        do {
            try cgroup.create(resources: nil, devices: [], controllersInUnified: [])
            Issue.record("create succeeded under /sys")
        } catch let error as RuntimeError {
            let text = "\(error)"
            #expect(text.contains("cannot create /sys/skiff-no-cgroups-here"), "\(text)")
            #expect(text.contains("cgroup delegation") && text.contains("docs/runtime.md"), "\(text)")
        }
    }
}

@Suite struct DeviceFilterProgramTests {
    @Test func encodesInstructionsAsTheKernelReadsThem() {
        // mov64 r0, 1 -> b7 00 0000 01000000
        let insn = DeviceFilterProgram.Instruction(code: 0xb7, dst: 0, src: 0, offset: 0, immediate: 1)
        #expect(insn.encoded == 0x0000_0001_0000_00b7)
        let load = DeviceFilterProgram.Instruction(code: 0x61, dst: 4, src: 1, offset: 4, immediate: 0)
        #expect(load.encoded == 0x0000_0000_0004_1461)
    }

    @Test func rulesAreCheckedLastFirstWithDenyByDefault() throws {
        let program = try DeviceFilterProgram.compile([
            .init(allow: false, type: "a", access: "rwm"),
            .init(allow: true, type: "c", major: 1, minor: 3, access: "rw"),
        ])
        // Prologue (6) + allow block for c 1:3 rw (type, access x3, major, minor, mov, exit = 8)
        // + deny-all block (mov, exit), which matches everything and so ends the program.
        #expect(program.count == 6 + 8 + 2)
        #expect(program[6] == .init(code: 0x56, dst: 2, src: 0, offset: 7, immediate: 2))
        #expect(program[13].code == 0x95 && program[12].immediate == 1)
        #expect(program[14].immediate == 0 && program.last?.code == 0x95)
        let open = try DeviceFilterProgram.compile([.init(allow: true, type: "c", major: 1, minor: 3, access: "rwm")])
        #expect(
            open.suffix(2) == [
                .init(code: 0xb7, dst: 0, src: 0, offset: 0, immediate: 0), .init(code: 0x95, dst: 0, src: 0, offset: 0, immediate: 0),
            ], "no match denies")
    }

    @Test func rejectsBadRules() {
        #expect(throws: RuntimeError.self) { try DeviceFilterProgram.compile([.init(allow: true, type: "x")]) }
        #expect(throws: RuntimeError.self) { try DeviceFilterProgram.compile([.init(allow: true, access: "rwz")]) }
    }

    @Test func warmupWritesToTheCgroupThisProcessIsIn() {
        let hybrid = CgroupLayout(
            v1: [
                "cpu": "/sys/fs/cgroup/cpu,cpuacct", "cpuacct": "/sys/fs/cgroup/cpu,cpuacct",
                "name=systemd": "/sys/fs/cgroup/systemd",
            ],
            unified: "/sys/fs/cgroup/unified", unifiedControllers: [])
        // The first line whose hierarchy is mounted wins; unmounted ones (blkio here) are skipped.
        #expect(
            CgroupMigrationWarmup.procsFile(selfCgroup: "12:blkio:/a\n4:cpu,cpuacct:/user/1\n0::/\n", layout: hybrid)
                == "/sys/fs/cgroup/cpu,cpuacct/user/1/cgroup.procs")
        #expect(
            CgroupMigrationWarmup.procsFile(selfCgroup: "1:name=systemd:/\n", layout: hybrid)
                == "/sys/fs/cgroup/systemd/cgroup.procs")
        let v2 = CgroupLayout(v1: [:], unified: "/sys/fs/cgroup", unifiedControllers: [])
        #expect(
            CgroupMigrationWarmup.procsFile(selfCgroup: "0::/system.slice/x.service\n", layout: v2)
                == "/sys/fs/cgroup/system.slice/x.service/cgroup.procs")
        #expect(CgroupMigrationWarmup.procsFile(selfCgroup: "garbage\n3:memory:/\n", layout: v2) == nil)
    }

    @Test func aConfiguredRuleDecidesALinuxDevicesAccess() {
        let device = Device(type: "c", path: "/dev/x", major: 10, minor: 237)
        let other = Device(type: "c", path: "/dev/y", major: 10, minor: 238)
        let rules = CgroupWrites.deviceRules(
            [.init(allow: true, type: "c", major: 10, minor: 237, access: "r")], extraDevices: [device, other])
        #expect(rules.filter { $0.major == 10 && $0.minor == 237 }.map(\.access) == ["r"])
        #expect(rules.filter { $0.major == 10 && $0.minor == 238 }.map(\.access) == ["rwm"])
    }
}

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
        var r = Resources(memory: .init(limit: 1000, reservation: 500, swap: 2000), cpu: .init(shares: 512, quota: 20000, period: 100000, cpus: "0-1"), pids: .init(limit: 0))
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

    @Test func sharesToWeightBounds() {
        #expect(CgroupWrites.sharesToWeight(2) == 1)
        #expect(CgroupWrites.sharesToWeight(262_144) == 10000)
    }
}

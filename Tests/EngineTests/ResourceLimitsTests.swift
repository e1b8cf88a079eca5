import Engine
import OCISpec
import Testing

/// docker's resource flags checked as docker checks them, and the cgroup limits they give.
@Suite struct ResourceLimitsTests {
    let host = ResourceLimits.Host(cpuCount: 2, onlineCPUs: [0, 1], memoryNodes: [0], pureCgroup2: false, blkioWeight: true)

    func apply(_ change: (inout ResourceLimits) -> Void, host: ResourceLimits.Host? = nil) throws -> (Resources, [String]) {
        var limits = ResourceLimits()
        change(&limits)
        var warnings: [String] = []
        let resources = try limits.apply(to: Resources(), host: host ?? self.host, warnings: &warnings)
        return (resources, warnings)
    }

    func refusal(_ change: (inout ResourceLimits) -> Void) -> String? {
        do {
            _ = try apply(change)
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func everyFlagBecomesItsLimit() throws {
        let (resources, warnings) = try apply {
            $0.memory = 64 << 20
            $0.memorySwap = 128 << 20
            $0.memoryReservation = 32 << 20
            $0.memorySwappiness = 10
            $0.cpuShares = 512
            $0.cpuPeriod = 50_000
            $0.cpuQuota = 25_000
            $0.cpusetCpus = "0-1"
            $0.cpusetMems = "0"
            $0.pidsLimit = 0
            $0.blkioWeight = 300
        }
        #expect(warnings.isEmpty)
        #expect(resources.memory?.limit == 64 << 20 && resources.memory?.swap == 128 << 20 && resources.memory?.reservation == 32 << 20)
        #expect(resources.memory?.swappiness == 10)
        #expect(resources.cpu == Resources.CPU(shares: 512, quota: 25_000, period: 50_000, cpus: "0-1", mems: "0"))
        #expect(resources.pids?.limit == -1)
        #expect(resources.blockIO?.weight == 300)
        let (cpus, _) = try apply { $0.cpus = 1.5 }
        #expect(cpus.cpu?.quota == 150_000 && cpus.cpu?.period == 100_000)
        let (unlimited, _) = try apply {
            $0.memory = 64 << 20
            $0.memorySwap = -1
        }
        #expect(unlimited.memory?.swap == -1)
    }

    @Test func refusedAsDockerRefuses() {
        #expect(refusal { $0.memory = 4 << 20 }?.contains("minimum of 6 MB") == true)
        #expect(refusal { $0.cpus = 3 }?.contains("only 2 CPUs available") == true)
        #expect(refusal { $0.cpus = 0 } != nil)
        #expect(refusal { $0.memorySwap = 1 << 30 }?.contains("needs --memory") == true)
        #expect(
            refusal {
                $0.memory = 64 << 20
                $0.memorySwap = 32 << 20
            }?.contains("at least --memory") == true)
        #expect(
            refusal {
                $0.memory = 64 << 20
                $0.memoryReservation = 128 << 20
            }?.contains("at most --memory") == true)
        #expect(
            refusal {
                $0.cpus = 1
                $0.cpuQuota = 50_000
            }?.contains("cannot both be set") == true)
        #expect(refusal { $0.cpusetCpus = "0-7" }?.contains("not available") == true)
        #expect(refusal { $0.cpusetCpus = "1-0" }?.contains("0-3") == true)
        #expect(refusal { $0.cpusetCpus = "a" } != nil)
        #expect(refusal { $0.cpusetMems = "1" }?.contains("memory nodes") == true)
        #expect(refusal { $0.cpuPeriod = 10 } != nil)
        #expect(refusal { $0.cpuQuota = 10 } != nil)
        #expect(refusal { $0.cpuShares = 1 } != nil)
        #expect(refusal { $0.blkioWeight = 5 } != nil)
        #expect(refusal { $0.memorySwappiness = 101 } != nil)
    }

    /// What the host cannot do is dropped with a warning, as docker drops it.
    @Test func unsupportedOnThisHostIsDroppedWithAWarning() throws {
        var cgroup2 = host
        cgroup2.pureCgroup2 = true
        cgroup2.blkioWeight = false
        let (resources, warnings) = try apply(
            {
                $0.memory = 64 << 20
                $0.oomKillDisable = true
                $0.memorySwappiness = 5
                $0.blkioWeight = 500
            }, host: cgroup2)
        #expect(resources.memory?.disableOOMKiller == nil && resources.memory?.swappiness == nil && resources.blockIO == nil)
        #expect(warnings.count == 3)
        let (v1, v1Warnings) = try apply { $0.oomKillDisable = true }
        #expect(v1.memory?.disableOOMKiller == true)
        #expect(v1Warnings.first?.contains("without --memory") == true)
    }
}

#if canImport(Glibc)
import Glibc
#endif
import ContainerRuntime
import LinuxSupport
import OCISpec

/// `stats` and `top`: a running container's cgroup counters and processes.
extension Engine {
    /// The container's cgroup directories, from its spec's cgroupsPath and the host's layout.
    func cgroup(of record: EngineContainer) throws -> Cgroup {
        let spec = try? RuntimeJSON.decode(Spec.self, from: FileIO.read(store.directory(for: record.id) + "/config.json"))
        return try Cgroup.resolve(
            layout: CgroupLayout.detect(), cgroupsPath: spec?.linux?.cgroupsPath ?? SpecBuilder.cgroupParent + "/" + record.id)
    }

    /// A running container, or the docker error for one that is not.
    func runningRecord(_ reference: String, action: String) throws -> EngineContainer {
        let record = try store.resolve(reference)
        guard liveStatus(record).isRunning else {
            throw EngineError.wrongState(container: record.name, status: "not running", action: action)
        }
        return record
    }

    /// Reads the counters of a running container (v1 controllers when they are mounted, else cgroup2).
    public func sample(_ record: EngineContainer) throws -> CgroupSample {
        if record.vm != nil { return try microVMSample(record) }
        let cgroup = try cgroup(of: record)
        func read(_ path: String?, _ file: String) -> String? { path.flatMap { try? FileIO.readString($0 + "/" + file) } }
        var sample: CgroupSample
        if let memory = cgroup.v1Paths["memory"], FileIO.exists(memory + "/memory.usage_in_bytes") {
            let cpuacct = cgroup.v1Paths["cpuacct"] ?? cgroup.v1Paths["cpu"]
            sample = CgroupStatsParser.v1(
                memoryUsage: read(memory, "memory.usage_in_bytes"), memoryStat: read(memory, "memory.stat"),
                memoryLimit: read(memory, "memory.limit_in_bytes"), cpuacctUsage: read(cpuacct, "cpuacct.usage"),
                pidsCurrent: read(cgroup.v1Paths["pids"], "pids.current"), pidsMax: read(cgroup.v1Paths["pids"], "pids.max"))
        } else if let unified = cgroup.unifiedPath, FileIO.exists(unified) {
            sample = CgroupStatsParser.v2(
                memoryCurrent: read(unified, "memory.current"), memoryStat: read(unified, "memory.stat"),
                memoryMax: read(unified, "memory.max"), cpuStat: read(unified, "cpu.stat"),
                pidsCurrent: read(unified, "pids.current"), pidsMax: read(unified, "pids.max"))
        } else {
            throw EngineError.startFailed("the cgroup of container \(record.name) is gone")
        }
        if sample.pids == 0 { sample.pids = UInt64(cgroup.processes().count) }
        return sample
    }

    /// Whether the cgroup OOM killer killed a process of the container's current run (v1's memory
    /// controller where it is mounted, else cgroup2); read after the program exited, before the
    /// runtime deletes the cgroup.
    func wasOOMKilled(_ record: EngineContainer, exitCode: Int32) -> Bool {
        guard record.vm == nil, let cgroup = try? cgroup(of: record) else { return false }
        func read(_ path: String?, _ file: String) -> String? { path.flatMap { try? FileIO.readString($0 + "/" + file) } }
        if let memory = cgroup.v1Paths["memory"], FileIO.exists(memory + "/memory.oom_control") {
            return CgroupStatsParser.oomKilled(
                oomControl: read(memory, "memory.oom_control"), failcnt: read(memory, "memory.failcnt"), memoryEvents: nil,
                exitCode: exitCode)
        }
        return CgroupStatsParser.oomKilled(
            oomControl: nil, failcnt: nil, memoryEvents: read(cgroup.unifiedPath, "memory.events"), exitCode: exitCode)
    }

    /// The host's memory (docker's limit for a container without one), bytes.
    public static func hostMemory() -> UInt64 {
        guard let text = try? FileIO.readString("/proc/meminfo") else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("MemTotal:") {
            let fields = line.split(separator: " ")
            if fields.count >= 2, let kib = UInt64(fields[1]) { return kib * 1024 }
        }
        return 0
    }

    /// `top`: the host's `ps` with `arguments` (default -ef), keeping the header and the lines of
    /// the container's processes (found through the PID column, as docker does).
    public func top(_ reference: String, psArguments: [String]) throws -> [String] {
        let record = try runningRecord(reference, action: "list the processes of")
        if record.vm != nil { return try microVMTop(record, psArguments: psArguments) }
        let pids = Set(try cgroup(of: record).processes())
        let arguments = psArguments.isEmpty ? ["-ef"] : psArguments
        let ps = ["/usr/bin/ps", "/bin/ps"].first(where: FileIO.exists) ?? "/bin/ps"
        let result = try Subprocess.run(
            path: ps, args: ["ps"] + arguments, env: ["PATH=/usr/bin:/bin", "LC_ALL=C"],
            captureOutput: true, captureStderr: true, timeout: 10)
        let text = String(decoding: result.output, as: UTF8.self)
        guard result.status == 0 else {
            throw EngineError.invalidOption("ps \(arguments.joined(separator: " ")) failed: \(text.split(separator: "\n").first ?? "")")
        }
        return try Self.filterPs(output: text, pids: pids)
    }

    /// Keeps the header and the rows whose PID column is in `pids`. Pure, for tests.
    public static func filterPs(output: String, pids: Set<Int32>) throws -> [String] {
        let lines = output.split(separator: "\n").map(String.init)
        guard let header = lines.first,
            let column = header.split(separator: " ", omittingEmptySubsequences: true).firstIndex(of: "PID")
        else {
            throw EngineError.invalidOption("the ps output has no PID column: include pid in the ps options (e.g. -o pid,comm)")
        }
        var result = [header]
        for line in lines.dropFirst() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if fields.count > column, let pid = Int32(fields[column]), pids.contains(pid) { result.append(line) }
        }
        return result
    }
}

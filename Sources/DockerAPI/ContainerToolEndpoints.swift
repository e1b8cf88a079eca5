#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Engine
import LinuxSupport
import Networking

/// docker's `top` document: the header's titles and each process's columns (the last one, the
/// command, keeps its spaces).
struct TopResponse: Encodable, Equatable {
    var Titles: [String]
    var Processes: [[String]]

    init(Titles: [String], Processes: [[String]]) {
        self.Titles = Titles
        self.Processes = Processes
    }

    /// From `ps` lines, the header first.
    init(psLines lines: [String]) {
        let titles = lines.first.map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) } ?? []
        Titles = titles
        Processes = lines.dropFirst().map { line in
            var fields: [String] = []
            var rest = Substring(line)
            while fields.count < max(titles.count - 1, 0) {
                rest = rest.drop { $0 == " " }
                guard let end = rest.firstIndex(of: " ") else { break }
                fields.append(String(rest[..<end]))
                rest = rest[end...]
            }
            let last = rest.drop { $0 == " " }
            if !last.isEmpty { fields.append(String(last)) }
            return fields
        }
    }
}

/// docker's stats document (`GET /containers/{id}/stats`), the fields `docker stats` reads.
struct StatsResponse: Encodable {
    struct CPUUsage: Encodable {
        var total_usage: UInt64
        var usage_in_kernelmode: UInt64
        var usage_in_usermode: UInt64
    }
    struct Throttling: Encodable {
        var periods: UInt64 = 0
        var throttled_periods: UInt64 = 0
        var throttled_time: UInt64 = 0
    }
    struct CPUStats: Encodable {
        var cpu_usage: CPUUsage
        var system_cpu_usage: UInt64?
        var online_cpus: Int?
        var throttling_data: Throttling
    }
    struct MemoryStats: Encodable {
        var usage: UInt64?
        var limit: UInt64?
        var stats: [String: UInt64]?
    }
    struct PidsStats: Encodable {
        var current: UInt64?
        var limit: UInt64?
    }
    struct BlkioEntry: Encodable {
        var major: UInt64
        var minor: UInt64
        var op: String
        var value: UInt64
    }
    struct BlkioStats: Encodable {
        var io_service_bytes_recursive: [BlkioEntry]?
        var io_serviced_recursive: [BlkioEntry]?
        var io_queue_recursive: [BlkioEntry]?
        var io_service_time_recursive: [BlkioEntry]?
        var io_wait_time_recursive: [BlkioEntry]?
        var io_merged_recursive: [BlkioEntry]?
        var io_time_recursive: [BlkioEntry]?
        var sectors_recursive: [BlkioEntry]?
    }
    struct NetworkStats: Encodable, Equatable {
        var rx_bytes: UInt64
        var rx_packets: UInt64
        var rx_errors: UInt64
        var rx_dropped: UInt64
        var tx_bytes: UInt64
        var tx_packets: UInt64
        var tx_errors: UInt64
        var tx_dropped: UInt64
    }
    struct StorageStats: Encodable {}
    var name: String
    var id: String
    var read: String
    var preread: String
    var pids_stats: PidsStats
    var blkio_stats: BlkioStats
    var num_procs: Int
    var storage_stats: StorageStats
    var cpu_stats: CPUStats
    var precpu_stats: CPUStats
    var memory_stats: MemoryStats
    var networks: [String: NetworkStats]?

    /// The host's CPU time in nanoseconds from /proc/stat's `cpu` line (docker's system_cpu_usage).
    static func systemCPUNanoseconds(procStat: String, ticksPerSecond: Int) -> UInt64? {
        guard ticksPerSecond > 0, let line = procStat.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") }) else { return nil }
        let ticks = line.split(separator: " ").dropFirst().prefix(8).compactMap { UInt64($0) }
        guard ticks.count >= 4 else { return nil }
        return ticks.reduce(0, +) * (1_000_000_000 / UInt64(ticksPerSecond))
    }

    /// Each interface of /proc/PID/net/dev but the loopback.
    static func networks(procNetDev: String) -> [String: NetworkStats] {
        var result: [String: NetworkStats] = [:]
        for line in procNetDev.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].trimmingSpaces
            let values = line[line.index(after: colon)...].split(separator: " ").compactMap { UInt64($0) }
            guard !name.isEmpty, name != "lo", values.count >= 16 else { continue }
            result[String(name)] = NetworkStats(
                rx_bytes: values[0], rx_packets: values[1], rx_errors: values[2], rx_dropped: values[3], tx_bytes: values[8],
                tx_packets: values[9], tx_errors: values[10], tx_dropped: values[11])
        }
        return result
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        drop { $0 == " " }.reversed().drop { $0 == " " }.reversed().reduce(into: "") { $0.append($1) }
    }
}

/// docker's X-Docker-Container-Path-Stat: the path's stat as JSON, base64.
struct PathStatHeader: Encodable {
    var name: String
    var size: Int64
    var mode: UInt32
    var mtime: String
    var linkTarget: String

    /// Go's os.FileMode from st_mode: the permission bits with Go's type and special bits.
    static func goFileMode(_ mode: UInt32) -> UInt32 {
        var result = mode & 0o777
        switch mode & UInt32(S_IFMT) {
        case UInt32(S_IFDIR): result |= 1 << 31
        case UInt32(S_IFLNK): result |= 1 << 27
        case UInt32(S_IFBLK): result |= 1 << 26
        case UInt32(S_IFCHR): result |= 1 << 26 | 1 << 21
        case UInt32(S_IFIFO): result |= 1 << 25
        case UInt32(S_IFSOCK): result |= 1 << 24
        default: break
        }
        if mode & UInt32(S_ISUID) != 0 { result |= 1 << 23 }
        if mode & UInt32(S_ISGID) != 0 { result |= 1 << 22 }
        if mode & UInt32(S_ISVTX) != 0 { result |= 1 << 20 }
        return result
    }

    init(_ stat: Engine.PathStat) {
        name = stat.name
        size = stat.size
        mode = Self.goFileMode(stat.mode)
        mtime = Timestamp.format(seconds: Int(clamping: stat.modifiedSeconds), nanoseconds: Int(clamping: stat.modifiedNanoseconds))
        linkTarget = stat.linkTarget
    }

    var headerValue: String { Base64.encode((try? APIJSON.encode(self)) ?? []) }
}

extension DockerService {
    // MARK: - top

    func topContainer(_ call: Call, _ reference: String) throws {
        let record = try container(reference)
        guard engine.liveStatus(record).isRunning else {
            throw APIError.conflict("container \(record.id) is not running")
        }
        let arguments = (call.query["ps_args"] ?? "").split(separator: " ").map(String.init)
        let lines = try engine.top(record.id, psArguments: arguments)
        call.responder.sendJSON(TopResponse(psLines: lines))
    }

    // MARK: - stats

    /// `stream` (default) writes a document a second until the client goes or the container
    /// stops; `stream=0` answers one with precpu_stats a second earlier (`one-shot=1`: at once,
    /// without them), which is what `docker stats --no-stream` renders.
    func containerStats(_ call: Call, _ reference: String) throws {
        let record = try container(reference)
        let stream = call.query.bool("stream", default: true)
        let oneShot = call.query.bool("one-shot")
        let emptyCPU = StatsResponse.CPUStats(
            cpu_usage: .init(total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0), system_cpu_usage: nil, online_cpus: nil,
            throttling_data: .init())
        let ticks = sysconf(Int32(_SC_CLK_TCK))
        let cpus = sysconf(Int32(_SC_NPROCESSORS_ONLN))
        func document(previous: (cpu: StatsResponse.CPUStats, time: String)?) -> (StatsResponse, StatsResponse.CPUStats)? {
            guard let current = try? engine.store.load(id: record.id), engine.liveStatus(current).isRunning,
                let sample = try? engine.sample(current)
            else { return nil }
            let system = (try? FileIO.readString("/proc/stat")).flatMap {
                StatsResponse.systemCPUNanoseconds(procStat: $0, ticksPerSecond: ticks)
            }
            let cpu = StatsResponse.CPUStats(
                cpu_usage: .init(total_usage: sample.cpuNanoseconds, usage_in_kernelmode: 0, usage_in_usermode: 0),
                system_cpu_usage: system,
                online_cpus: cpus, throttling_data: .init())
            let networks = current.pid.flatMap { try? FileIO.readString("/proc/\($0)/net/dev") }.map(StatsResponse.networks(procNetDev:))
            let response = StatsResponse(
                name: "/" + current.name, id: current.id, read: Timestamp.now(), preread: previous?.time ?? "0001-01-01T00:00:00Z",
                pids_stats: .init(current: sample.pids, limit: sample.pidsLimit),
                blkio_stats: .init(
                    io_service_bytes_recursive: [], io_serviced_recursive: [], io_queue_recursive: [], io_service_time_recursive: [],
                    io_wait_time_recursive: [], io_merged_recursive: [], io_time_recursive: [], sectors_recursive: []),
                num_procs: 0, storage_stats: .init(), cpu_stats: cpu, precpu_stats: previous?.cpu ?? emptyCPU,
                memory_stats: .init(usage: sample.memoryUsage, limit: sample.memoryLimit ?? Engine.hostMemory(), stats: [:]),
                networks: networks)
            return (response, cpu)
        }
        func stopped() -> StatsResponse {
            StatsResponse(
                name: "/" + record.name, id: record.id, read: "0001-01-01T00:00:00Z", preread: "0001-01-01T00:00:00Z", pids_stats: .init(),
                blkio_stats: .init(), num_procs: 0, storage_stats: .init(), cpu_stats: emptyCPU, precpu_stats: emptyCPU,
                memory_stats: .init(), networks: nil)
        }
        if !stream {
            var result = document(previous: nil)
            if !oneShot, let first = result {
                usleep(1_000_000)
                result = document(previous: (first.1, first.0.read)) ?? first
            }
            return call.responder.sendJSON(result?.0 ?? stopped())
        }
        call.responder.startStream(contentType: "application/json")
        var previous: (cpu: StatsResponse.CPUStats, time: String)?
        while !call.responder.isClosed {
            guard let (response, cpu) = document(previous: previous) else {
                if previous == nil, var bytes = try? APIJSON.encode(stopped()) {
                    bytes.append(UInt8(ascii: "\n"))
                    call.responder.write(bytes)
                }
                break
            }
            guard var bytes = try? APIJSON.encode(response) else { break }
            bytes.append(UInt8(ascii: "\n"))
            if !call.responder.write(bytes) { break }
            previous = (cpu, response.read)
            // A second between documents, waking early when the client goes.
            for _ in 0..<20 where !call.responder.isClosed { usleep(50_000) }
        }
        call.responder.finish()
    }

    // MARK: - archive (docker cp)

    func pathStat(_ record: EngineContainer, _ path: String) throws -> Engine.PathStat {
        guard !path.isEmpty else { throw APIError.badRequest("path is required: the path in the container") }
        guard let stat = try engine.statPath(record.id, path: path) else {
            throw APIError.notFound("Could not find the file \(path) in container \(record.name)")
        }
        return stat
    }

    /// HEAD: the stat header alone. GET: the header and the path as a tar stream.
    func getArchive(_ call: Call, _ reference: String) throws {
        let record = try container(reference)
        let path = call.query["path"] ?? ""
        let stat = try pathStat(record, path)
        let header = ("X-Docker-Container-Path-Stat", PathStatHeader(stat).headerValue)
        if call.request.method == .HEAD {
            return call.responder.send(status: .ok, headers: [header], body: [], contentType: "application/x-tar")
        }
        let (readEnd, writeEnd) = try Descriptors.pipe()
        let engine = self.engine
        let id = record.id
        // The writer on a queue thread of its own (never inline: it blocks on a full pipe).
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            _ = try? engine.copyOutTar(id, path: path, to: writeEnd)
            close(writeEnd)
            done.signal()
        }
        call.responder.startStream(contentType: "application/x-tar", headers: [header])
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            if !call.responder.write(Array(buffer[0..<n])) { break }
        }
        close(readEnd)
        // A client that went away leaves the writer on EPIPE, so it ends either way.
        done.wait()
        call.responder.finish()
    }

    /// PUT: the body, a tar stream, extracted into the existing directory `path`.
    func putArchive(_ call: Call, _ reference: String) throws {
        let record = try container(reference)
        let path = call.query["path"] ?? ""
        let stat = try pathStat(record, path)
        guard stat.isDirectory else {
            throw APIError.badRequest("extraction point is not a directory: \(path) in container \(record.name)")
        }
        let (readEnd, writeEnd) = try Descriptors.pipe()
        let body = call.request.body
        let fed = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            _ = try? FileIO.writeAll(fd: writeEnd, body, what: "archive upload")
            close(writeEnd)
            fed.signal()
        }
        defer {
            close(readEnd)  // a refused stream leaves the feeder on EPIPE
            fed.wait()
        }
        var options = Engine.CopyOptions()
        options.archive = call.query.bool("copyUIDGID")
        try engine.copyInTar(record.id, from: readEnd, path: path, options: options)
        call.responder.send(status: .ok, body: [])
    }

    // MARK: - rename, prune

    func renameContainer(_ call: Call, _ reference: String) throws {
        guard let name = call.query["name"], !name.isEmpty else { throw APIError.badRequest("name is required: the new name") }
        let record = try container(reference)
        try engine.rename(record.id, to: name.hasPrefix("/") ? String(name.dropFirst()) : name)
        call.responder.send(status: .noContent, body: [])
    }

    struct ContainerPruneResponse: Encodable {
        var ContainersDeleted: [String]
        var SpaceReclaimed: Int64
    }

    /// Removes the stopped containers (`label`, `label!`, `until` filters).
    func pruneContainers(_ call: Call) throws {
        // A bad filter is an EngineError.invalidOption: a 400 (APIError.from).
        let filters = try ContainerPruneFilters(try Self.parseFilters(call.query["filters"]))
        let result = try engine.pruneContainers(matching: filters.matches)
        call.responder.sendJSON(ContainerPruneResponse(ContainersDeleted: result.removed, SpaceReclaimed: result.reclaimedBytes))
    }
}

extension DockerService {
    // MARK: - pause, unpause, update

    /// `POST /containers/{id}/pause` and `/unpause`: the engine's cgroup freezer.
    func pauseContainer(_ call: Call, _ reference: String, pause: Bool) throws {
        let record = try container(reference)
        if pause { try engine.pause(record.id) } else { try engine.unpause(record.id) }
        call.responder.send(status: .noContent, body: [])
    }

    /// docker's `ContainerUpdateConfig`: the resource fields `docker update` sends (0: unchanged)
    /// and RestartPolicy.
    struct UpdateBody: Decodable {
        var Memory: Int64?
        var MemorySwap: Int64?
        var MemoryReservation: Int64?
        var NanoCpus: Int64?
        var CpuShares: Int64?
        var CpuPeriod: Int64?
        var CpuQuota: Int64?
        var CpusetCpus: String?
        var CpusetMems: String?
        var PidsLimit: Int64?
        var BlkioWeight: Int?
        var RestartPolicy: ContainerCreateBody.RestartPolicyBody?

        func limits() throws -> ResourceLimits {
            func set(_ value: Int64?) -> Int64? { value.flatMap { $0 == 0 ? nil : $0 } }
            var limits = ResourceLimits()
            limits.memory = set(Memory)
            limits.memorySwap = set(MemorySwap)
            limits.memoryReservation = set(MemoryReservation)
            limits.cpus = set(NanoCpus).map { Double($0) / 1e9 }
            limits.cpuShares = set(CpuShares).map { UInt64(max(0, $0)) }
            limits.cpuPeriod = set(CpuPeriod).map { UInt64(max(0, $0)) }
            limits.cpuQuota = set(CpuQuota)
            limits.cpusetCpus = CpusetCpus.flatMap { $0.isEmpty ? nil : $0 }
            limits.cpusetMems = CpusetMems.flatMap { $0.isEmpty ? nil : $0 }
            limits.pidsLimit = set(PidsLimit)
            if let weight = BlkioWeight, weight != 0 {
                guard let value = UInt16(exactly: weight) else { throw APIError.badRequest("BlkioWeight \(weight): use 10 to 1000") }
                limits.blkioWeight = value
            }
            return limits
        }
    }

    struct UpdateResponse: Encodable {
        var Warnings: [String]
    }

    /// `POST /containers/{id}/update`: `docker update`, through the engine's `update`.
    func updateContainer(_ call: Call, _ reference: String) throws {
        let body = try APIJSON.decode(UpdateBody.self, from: call.request.body)
        let record = try container(reference)
        var restart: RestartPolicy?
        if let name = body.RestartPolicy?.Name, !name.isEmpty {
            let count = body.RestartPolicy?.MaximumRetryCount ?? 0
            restart = try RestartPolicy(parsing: name == "on-failure" && count > 0 ? "on-failure:\(count)" : name)
        }
        try engine.update(record.id, limits: try body.limits(), restart: restart)
        call.responder.sendJSON(UpdateResponse(Warnings: []))
    }
}

#if canImport(Glibc)
import Glibc
#endif
import LinuxSupport
import OCISpec

/// A container's cgroup on this host: one directory per v1 hierarchy and/or one cgroup2
/// directory. It is Codable so the state file records exactly what to clean up later.
public struct Cgroup: Codable, Sendable, Equatable {
    /// v1 controller -> absolute directory.
    public var v1Paths: [String: String]
    /// The cgroup2 directory (pure v2, or the unified hierarchy of a hybrid host).
    public var unifiedPath: String?
    /// Whether cgroup2 is the only hierarchy (resources are then applied there).
    public var pureV2: Bool

    /// Builds the directory set for `cgroupsPath` (absolute, or relative to our own cgroup).
    public static func resolve(layout: CgroupLayout, cgroupsPath: String) throws -> Cgroup {
        let own = ownCgroups()
        func full(_ mount: String, _ key: String) -> String {
            let base = cgroupsPath.hasPrefix("/") ? "" : (own[key] ?? "/")
            let joined = (base + "/" + cgroupsPath).split(separator: "/").joined(separator: "/")
            return mount + "/" + joined
        }
        var v1: [String: String] = [:]
        for (controller, mount) in layout.v1 { v1[controller] = full(mount, controller) }
        let unified = layout.unified.map { full($0, "") }
        return Cgroup(v1Paths: v1, unifiedPath: unified, pureV2: layout.isPureV2)
    }

    /// Our own cgroup per controller, from /proc/self/cgroup ("" is the cgroup2 entry).
    static func ownCgroups() -> [String: String] {
        guard let text = try? FileIO.readString("/proc/self/cgroup") else { return [:] }
        var out: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            let path = String(parts[2])
            if parts[1].isEmpty { out[""] = path }
            for c in parts[1].split(separator: ",") { out[String(c)] = path }
        }
        return out
    }

    /// All directories, v1 then unified.
    public var allPaths: [String] { v1Paths.values.sorted() + (unifiedPath.map { [$0] } ?? []) }

    /// Creates the directories and applies `resources`. On failure everything made is removed.
    /// `includeDevices: false` leaves the device rules to `attachDeviceFilter` (pure cgroup2 only).
    public func create(resources: Resources?, devices: [Device], controllersInUnified: Set<String>, includeDevices: Bool = true) throws {
        var made: [String] = []
        do {
            for path in allPaths {
                try Self.makeDirectories(path, made: &made)
            }
            if let cpuset = v1Paths["cpuset"] { try Self.initialiseCpuset(cpuset) }
            if pureV2, let unified = unifiedPath { try Self.enableControllers(for: unified) }
            // Hybrid host with hugetlb only in the unified hierarchy: enable it down to ours.
            if !pureV2, v1Paths["hugetlb"] == nil, !(resources?.hugepageLimits ?? []).isEmpty,
                controllersInUnified.contains("hugetlb"), let unified = unifiedPath
            {
                try Self.enableControllers(for: unified, only: ["hugetlb"])
            }
            try apply(
                resources: resources ?? Resources(), devices: devices, controllersInUnified: controllersInUnified,
                includeDevices: includeDevices)
        } catch {
            for dir in made.reversed() { rmdir(dir) }
            throw error
        }
    }

    /// The cgroup2 device filter alone (after `create(includeDevices: false)` on pure cgroup2,
    /// where loading the eBPF program is the slow part of making the cgroup).
    public func attachDeviceFilter(resources: Resources?, devices: [Device]) throws {
        guard pureV2, let unified = unifiedPath else { return }
        try DeviceFilter.attach(rules: CgroupWrites.deviceRules(resources?.devices, extraDevices: devices), to: unified)
    }

    /// Applies resource limits (also used by `update`).
    /// `includeDevices: false` (for `update`) leaves the device rules as they are.
    public func apply(resources: Resources, devices: [Device], controllersInUnified: Set<String>, includeDevices: Bool = true) throws {
        if let limits = resources.hugepageLimits, !limits.isEmpty {
            try CgroupWrites.checkHugepageLimits(limits, available: HugePageSizes.onHost())
        }
        // hugetlb limits go to its v1 hierarchy, else to the unified one; never nowhere.
        let hugetlbInUnified = v1Paths["hugetlb"] == nil && !pureV2 && controllersInUnified.contains("hugetlb")
        if pureV2 {
            if resources.blockIO?.hasLeafWeight == true {
                throw RuntimeError.cgroup("linux.resources.blockIO leafWeight has no cgroup2 equivalent: remove it from config.json")
            }
            if let network = resources.network, !network.isEmpty {
                throw RuntimeError.cgroup(
                    "linux.resources.network (classID, priorities) needs the v1 net_cls and net_prio controllers, which cgroup2 does not have: remove it from config.json"
                )
            }
            guard let unified = unifiedPath else { return }
            for w in CgroupWrites.v2(resources) {
                try write(unified + "/" + w.file, w.value, what: w)
            }
            // cgroup2 has no devices files: the rules become an eBPF program on the directory.
            if includeDevices {
                try DeviceFilter.attach(rules: CgroupWrites.deviceRules(resources.devices, extraDevices: devices), to: unified)
            }
            return
        }
        for w in CgroupWrites.v1(resources, extraDevices: devices) where includeDevices || w.controller != "devices" {
            if w.controller == "hugetlb" && hugetlbInUnified { continue }
            guard let dir = v1Paths[w.controller] else {
                if w.controller == "devices" { continue }
                throw RuntimeError.cgroup(
                    "the \(w.controller) controller is not mounted on this host, so \(w.file) cannot be set: remove that limit from config.json"
                )
            }
            let file = dir + "/" + w.file
            if w.file == "memory.memsw.limit_in_bytes" && !FileIO.exists(file) {
                if resources.memory?.swap == resources.memory?.limit || (resources.memory?.swap ?? 0) < 0 { continue }
                throw RuntimeError.cgroup(
                    "a swap limit was requested but this kernel has no swap accounting (memory.memsw.limit_in_bytes is missing)")
            }
            try write(file, w.value, what: w)
        }
        // Controllers that live only in the unified hierarchy of a hybrid host (often hugetlb).
        if let unified = unifiedPath {
            for w in CgroupWrites.v2(Resources(unified: resources.unified))
                + (hugetlbInUnified ? CgroupWrites.v2(hugetlbOnly(resources)) : [])
            where controllersInUnified.contains(w.controller) || resources.unified?[w.file] != nil {
                try write(unified + "/" + w.file, w.value, what: w)
            }
        }
    }

    private func hugetlbOnly(_ r: Resources) -> Resources {
        var out = Resources()
        out.hugepageLimits = r.hugepageLimits
        return out
    }

    private func write(_ file: String, _ value: String, what: CgroupWrite) throws {
        do {
            try FileIO.writeExisting(file, value)
        } catch let error as SystemError {
            if error.errno == ENOENT {
                throw RuntimeError.cgroup(
                    "\(what.file) does not exist in \(file.dropLast(what.file.count + 1)): the \(what.controller) controller is not available here"
                )
            }
            throw RuntimeError.cgroup("cannot set \(what.file) to \(value): \(error)")
        }
    }

    /// Makes the cgroup2 directory alone, so init can be cloned into it; `create` does the rest.
    public func makeUnifiedDirectory() throws {
        guard let unified = unifiedPath else { return }
        var made: [String] = []
        try Self.makeDirectories(unified, made: &made)
        if pureV2 { try Self.enableControllers(for: unified) }
    }

    /// Moves the calling thread into every v1 hierarchy by writing 0 to each `tasks` file. A
    /// thread that moves itself skips the kernel's threadgroup lock, and with it the RCU grace
    /// period that a move by pid waits for. For init stages only: they have one thread that
    /// matters, the one that executes the container's program (execve leaves no other).
    public func joinV1Hierarchies() throws {
        for path in v1Paths.values.sorted() {
            do {
                try FileIO.writeExisting(path + "/tasks", "0")
            } catch {
                throw RuntimeError.cgroup("cannot join \(path): \(error)")
            }
        }
    }

    /// Moves a process into every hierarchy (or only the v1 ones, or only the cgroup2 one).
    public func add(pid: Int32, v1: Bool = true, unified: Bool = true) throws {
        let paths = (v1 ? v1Paths.values.sorted() : []) + (unified ? (unifiedPath.map { [$0] } ?? []) : [])
        for path in paths {
            do {
                try FileIO.writeExisting(path + "/cgroup.procs", "\(pid)")
            } catch {
                throw RuntimeError.cgroup("cannot move process \(pid) into \(path): \(error)")
            }
        }
    }

    /// The pids in the container's cgroup.
    public func processes() -> [Int32] {
        let candidates = [v1Paths["pids"], v1Paths["freezer"], v1Paths["memory"], unifiedPath].compactMap { $0 }
        for path in candidates {
            if let text = try? FileIO.readString(path + "/cgroup.procs") {
                return text.split(separator: "\n").compactMap { Int32($0) }
            }
        }
        return []
    }

    /// Sends a signal to every process in the cgroup.
    public func signalAll(_ signal: Int32) {
        for pid in processes() { kill(pid, signal) }
    }

    /// Freezes (pause) or thaws (resume) every process, waiting until the kernel confirms.
    public func setFrozen(_ frozen: Bool) throws {
        if let freezer = v1Paths["freezer"], !pureV2 {
            try FileIO.writeExisting(freezer + "/freezer.state", frozen ? "FROZEN" : "THAWED")
            for _ in 0..<1000 {
                let state = (try? FileIO.readString(freezer + "/freezer.state"))?.trimmed
                if state == (frozen ? "FROZEN" : "THAWED") { return }
                if frozen { try FileIO.writeExisting(freezer + "/freezer.state", "FROZEN") }
                usleep(1000)
            }
            throw RuntimeError.cgroup("the freezer did not reach \(frozen ? "FROZEN" : "THAWED") in time")
        }
        guard let unified = unifiedPath, FileIO.exists(unified + "/cgroup.freeze") else {
            throw RuntimeError.cgroup("no freezer is available on this host: pause and resume need the v1 freezer or cgroup2")
        }
        try FileIO.writeExisting(unified + "/cgroup.freeze", frozen ? "1" : "0")
        for _ in 0..<1000 {
            if let events = try? FileIO.readString(unified + "/cgroup.events"), events.contains("frozen \(frozen ? 1 : 0)") { return }
            usleep(1000)
        }
        throw RuntimeError.cgroup("cgroup.freeze did not take effect in time")
    }

    /// Whether the cgroup is frozen.
    public var isFrozen: Bool {
        if let freezer = v1Paths["freezer"], !pureV2 {
            return (try? FileIO.readString(freezer + "/freezer.state"))?.hasPrefix("FROZEN") ?? false
        }
        if let unified = unifiedPath, let events = try? FileIO.readString(unified + "/cgroup.events") {
            return events.contains("frozen 1")
        }
        return false
    }

    /// Removes the directories, retrying while exiting processes still hold them.
    public func destroy() throws {
        var failures: [String] = []
        for path in allPaths {
            var removed = false
            for attempt in 0..<200 {
                if rmdir(path) == 0 || errno == ENOENT {
                    removed = true
                    break
                }
                if errno != EBUSY { break }
                if attempt == 20 { signalAllIn(path, SIGKILL) }
                usleep(5000)
            }
            if !removed { failures.append(path) }
        }
        if !failures.isEmpty {
            throw RuntimeError.cgroup("cannot remove \(failures.joined(separator: ", ")): processes are still running in it")
        }
    }

    private func signalAllIn(_ path: String, _ signal: Int32) {
        guard let text = try? FileIO.readString(path + "/cgroup.procs") else { return }
        for pid in text.split(separator: "\n").compactMap({ Int32($0) }) { kill(pid, signal) }
    }

    /// mkdir -p that tries the full path first (the parents usually exist) and records what it made.
    /// A shared parent (the engine's /skiff) may be removed by another process when it empties,
    /// between our making it and our mkdir of the child: that ENOENT is retried a few times.
    private static func makeDirectories(_ path: String, made: inout [String]) throws {
        for _ in 0..<5 {
            if mkdir(path, 0o755) == 0 {
                made.append(path)
                return
            }
            switch errno {
            case EEXIST:
                return
            case ENOENT:
                guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { break }
                try makeDirectories(String(path[..<slash]), made: &made)
                continue
            default:
                break
            }
            break
        }
        let error = errno
        if [EACCES, EPERM, EROFS].contains(error) {
            // Not a bug of the container's config: the host gives this process no cgroups to make.
            throw RuntimeError.cgroup(
                "cannot create \(path): \(String(cString: strerror(error))): this host does not let skiff make cgroups there. "
                    + "Run skiff as root on the host, or, inside a container, give it a writable cgroup hierarchy of its own "
                    + "(cgroup delegation); docs/runtime.md, \"Cgroups\", says what skiff needs")
        }
        throw RuntimeError.cgroup("cannot create \(path): \(String(cString: strerror(error)))")
    }

    /// A new v1 cpuset cgroup starts with no cpus or mems; copy them down from the parent.
    private static func initialiseCpuset(_ path: String) throws {
        var chain: [String] = []
        var p = path
        while !p.isEmpty && FileIO.exists(p + "/cpuset.cpus") {
            chain.append(p)
            guard let slash = p.lastIndex(of: "/") else { break }
            p = String(p[..<slash])
        }
        for dir in chain.reversed().dropFirst() {
            let parent = String(dir[..<(dir.lastIndex(of: "/") ?? dir.endIndex)])
            for file in ["cpuset.cpus", "cpuset.mems"] {
                let current = (try? FileIO.readString(dir + "/" + file))?.trimmed ?? ""
                if current.isEmpty, let value = try? FileIO.readString(parent + "/" + file) {
                    try FileIO.writeExisting(dir + "/" + file, value.trimmed)
                }
            }
        }
    }

    /// On pure cgroup2, enable the controllers we use (or `only` those) in every ancestor's subtree_control.
    private static func enableControllers(for path: String, only: Set<String>? = nil) throws {
        var ancestors: [String] = []
        var p = path
        while let slash = p.lastIndex(of: "/"), slash != p.startIndex {
            p = String(p[..<slash])
            ancestors.append(p)
            if FileIO.exists(p + "/cgroup.procs") == false { break }
        }
        for dir in ancestors.reversed() where FileIO.exists(dir + "/cgroup.subtree_control") {
            guard let available = try? FileIO.readString(dir + "/cgroup.controllers") else { continue }
            let wanted = available.split(whereSeparator: { $0 == " " || $0 == "\n" })
                .filter { (only ?? ["cpu", "cpuset", "memory", "pids", "io", "hugetlb"]).contains(String($0)) }
            if wanted.isEmpty { continue }
            _ = try? FileIO.writeExisting(dir + "/cgroup.subtree_control", wanted.map { "+" + $0 }.joined(separator: " "))
        }
    }
}

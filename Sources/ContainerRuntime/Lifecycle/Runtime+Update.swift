import LinuxSupport
import OCISpec

extension Runtime {
    /// Changes the resource limits of a running container (`runc update`), merging `changes` into
    /// the recorded limits so later updates and `state` see the whole picture.
    public func update(id: String, changes: Resources) throws {
        var record = try store.load(id: id)
        guard record.status(store: store) != .stopped else {
            throw RuntimeError.wrongState(id: id, status: "stopped", wanted: "running, created or paused")
        }
        guard let cgroup = record.cgroup else { throw RuntimeError.cgroup("container '\(id)' has no cgroup") }
        let layout = try CgroupLayout.detect()
        try cgroup.apply(resources: changes, devices: [], controllersInUnified: layout.unifiedControllers, includeDevices: false)
        var merged = record.spec.linux?.resources ?? Resources()
        merged.merge(changes)
        if record.spec.linux == nil { record.spec.linux = Linux() }
        record.spec.linux?.resources = merged
        try store.save(record)
    }
}

extension Resources {
    /// Overwrites every limit that `other` sets.
    public mutating func merge(_ other: Resources) {
        if let m = other.memory {
            var current = memory ?? Memory()
            if let v = m.limit { current.limit = v }
            if let v = m.reservation { current.reservation = v }
            if let v = m.swap { current.swap = v }
            memory = current
        }
        if let c = other.cpu {
            var current = cpu ?? CPU()
            if let v = c.shares { current.shares = v }
            if let v = c.quota { current.quota = v }
            if let v = c.period { current.period = v }
            if let v = c.cpus { current.cpus = v }
            if let v = c.mems { current.mems = v }
            if let v = c.realtimePeriod { current.realtimePeriod = v }
            if let v = c.realtimeRuntime { current.realtimeRuntime = v }
            cpu = current
        }
        if let p = other.pids { pids = p }
        if let b = other.blockIO { blockIO = b }
        if let u = other.unified { unified = (unified ?? [:]).merging(u) { $1 } }
    }
}

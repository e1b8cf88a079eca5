/// `pause`/`unpause`: the container's cgroup frozen and thawed through the runtime, as docker
/// does it. The record says so (`paused`), so `ps` and `inspect` need not ask the cgroup.
extension Engine {
    public func pause(_ reference: String) throws {
        let record = try store.resolve(reference)
        guard liveStatus(record).isRunning else {
            throw EngineError.wrongState(container: record.name, status: "not running", action: "pause")
        }
        if record.paused == true { throw EngineError.wrongState(container: record.name, status: "already paused", action: "pause") }
        if record.vm != nil {
            throw EngineError.invalidOption(
                "pause of a micro-VM container is not supported yet (\(record.name) runs in its own VM): stop it or use a process container"
            )
        }
        try runtime.pause(id: record.id)
        try store.update(id: record.id) { $0.paused = true }
    }

    public func unpause(_ reference: String) throws {
        let record = try store.resolve(reference)
        guard record.paused == true, liveStatus(record).isRunning else {
            throw EngineError.wrongState(container: record.name, status: "not paused", action: "unpause")
        }
        try runtime.resume(id: record.id)
        try store.update(id: record.id) { $0.paused = nil }
    }

    /// After a fatal signal to a paused container (stop, kill): thawed, so the signal takes
    /// effect, as docker does.
    func thawAfterSignal(_ record: EngineContainer) {
        guard record.paused == true else { return }
        try? runtime.resume(id: record.id)
        _ = try? store.update(id: record.id) { $0.paused = nil }
    }
}

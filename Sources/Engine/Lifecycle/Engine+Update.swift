import ContainerRuntime
import LinuxSupport
import OCISpec

/// `update`: new resource limits and restart policy for a container, as docker's. A running
/// process container gets the limits at once (the runtime writes its cgroup); every container
/// keeps them in its spec for its next start.
extension Engine {
    public func update(_ reference: String, limits: ResourceLimits, restart: RestartPolicy?) throws {
        guard !limits.isEmpty || restart != nil else {
            throw EngineError.invalidOption("update needs at least one flag to change (--memory, --cpus, --pids-limit, --restart, ...)")
        }
        let record = try store.resolve(reference)
        if record.vm != nil, !limits.isEmpty {
            throw EngineError.invalidOption(
                "update of the limits of a micro-VM container is not supported (\(record.name) runs in its own VM, sized at its start): "
                    + "recreate it with the new --memory/--cpus")
        }
        if let restart, restart != .no, record.autoRemove {
            throw EngineError.invalidOption("--restart \(restart) conflicts with --rm, which \(record.name) was created with")
        }
        let specPath = store.directory(for: record.id) + "/config.json"
        var spec = try RuntimeJSON.decode(Spec.self, from: FileIO.read(specPath))
        if !limits.isEmpty {
            var checked = limits
            // --memory-swap alone is checked against the limit the container already has.
            if checked.memorySwap != nil, checked.memory == nil { checked.memory = spec.linux?.resources?.memory?.limit }
            var warnings: [String] = []
            var changes = try checked.apply(to: Resources(), host: .detect(), warnings: &warnings)
            if limits.memory == nil { changes.memory?.limit = nil }
            for warning in warnings { Diagnostics.warn(warning) }
            if liveStatus(record).isRunning { try runtime.update(id: record.id, changes: changes) }
            var merged = spec.linux?.resources ?? Resources()
            merged.merge(changes)
            if spec.linux == nil { spec.linux = Linux() }
            spec.linux?.resources = merged
            try FileIO.writeAtomically(specPath, try RuntimeJSON.encode(spec, pretty: true), mode: 0o600)
        }
        if let restart { try store.update(id: record.id) { $0.restartPolicy = restart } }
    }
}

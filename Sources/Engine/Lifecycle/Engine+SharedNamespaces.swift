import OCISpec

extension Engine {
    /// `--pid/--ipc/--uts container:NAME`: the namespace files of that running container's init
    /// (docker's rule: it must be running; the container joins what it has at create).
    func sharedNamespacePaths(_ options: RunOptions) throws -> [NamespaceType: String] {
        var paths: [NamespaceType: String] = [:]
        for (type, reference) in options.namespaces.sharedContainers {
            let target = try store.resolve(reference)
            guard liveStatus(target).isRunning, target.vm == nil, let pid = target.pid, pid > 0 else {
                throw EngineError.invalidOption(
                    "cannot join the \(type.rawValue) namespace of \(target.name): it is not a running process container")
            }
            paths[type] = "/proc/\(pid)/ns/\(type.rawValue)"
        }
        return paths
    }
}

#if canImport(Glibc)
import Glibc
#endif
import ContainerRuntime
import LinuxSupport

extension Engine {
    /// `rm` of a container directory `all()` cannot list: an incomplete one (its create was
    /// killed) goes with the next lock, which removes it if its creator is dead; a damaged one
    /// (unreadable `container.json`) has its monitor and processes found without the record
    /// (the monitor by its command line, the processes through the runtime's state) and killed
    /// with `force`, then everything is removed as for any container.
    func removeUnlisted(_ reference: String, force: Bool, volumes: Bool) throws {
        let candidates = store.unlisted().filter { $0.id == reference || (!reference.isEmpty && $0.id.hasPrefix(reference)) }
        if candidates.count > 1 { throw EngineError.ambiguousContainer(reference) }
        guard let entry = candidates.first else { throw EngineError.noSuchContainer(reference) }
        switch entry.problem {
        case .incomplete:
            let stillThere = try store.locked {
                FileIO.isDirectory(store.directory(for: entry.id)) && !FileIO.exists(store.recordPath(for: entry.id))
            }
            if stillThere {
                // Only a directory whose creator still runs survives the lock's cleanup.
                throw EngineError.wrongState(container: entry.shortID, status: "still being created; try again once its create returns",
                                             action: "remove a")
            }
            // Its create finished meanwhile: an ordinary container now.
            if FileIO.exists(store.recordPath(for: entry.id)) { try remove(entry.id, force: force, volumes: volumes) }
        case .damaged:
            let monitors = monitorProcesses(id: entry.id)
            let runtimeState = try? runtime.state(id: entry.id)
            let running = runtimeState.map { $0.status == .running || $0.status == .paused || $0.status == .created } ?? false
            if (running || !monitors.isEmpty) && !force {
                throw EngineError.wrongState(container: entry.shortID,
                                             status: "running and its record is unreadable; `skiff rm -f \(entry.shortID)` kills and removes it",
                                             action: "remove a running")
            }
            // The monitor first, so it neither restarts the program nor writes the record.
            for monitor in monitors where monitor.isAlive { _ = Glibc.kill(monitor.pid, SIGKILL) }
            let deadline = Clock.monotonicSeconds() + 10
            while monitors.contains(where: \.isAlive), Clock.monotonicSeconds() < deadline { usleep(2000) }
            try? runtime.kill(id: entry.id, signal: SIGKILL, all: true)
            try removeFiles(id: entry.id, volumes: volumes)
        }
    }

    /// The monitors of container `id` in this store: `skiff container-monitor --root ROOT ... ID`.
    func monitorProcesses(id: String) -> [ProcessLease] {
        ProcStat.allPids().compactMap { pid in
            guard pid != getpid(), let arguments = ProcStat.commandLine(pid: pid), arguments.count > 1,
                  arguments[1] == "container-monitor", arguments.contains(id),
                  let rootFlag = arguments.firstIndex(of: "--root"), rootFlag + 1 < arguments.count,
                  arguments[rootFlag + 1] == store.root,
                  let stat = ProcStat.read(pid: pid) else { return nil }
            return ProcessLease(pid: pid, startTime: stat.startTime)
        }
    }
}

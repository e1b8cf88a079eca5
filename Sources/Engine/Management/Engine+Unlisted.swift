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
                throw EngineError.wrongState(
                    container: entry.shortID, status: "still being created; try again once its create returns",
                    action: "remove a")
            }
            // Its create finished meanwhile: an ordinary container now.
            if FileIO.exists(store.recordPath(for: entry.id)) { try remove(entry.id, force: force, volumes: volumes) }
        case .damaged:
            let monitors = monitorProcesses(id: entry.id)
            let runtimeState = try? runtime.state(id: entry.id)
            let running = runtimeState.map { $0.status == .running || $0.status == .paused || $0.status == .created } ?? false
            if (running || !monitors.isEmpty) && !force {
                throw EngineError.wrongState(
                    container: entry.shortID,
                    status: "running and its record is unreadable; `skiff rm -f \(entry.shortID)` kills and removes it",
                    action: "remove a running")
            }
            // The monitor first, so it neither restarts the program nor writes the record.
            for monitor in monitors where monitor.isAlive { _ = Glibc.kill(monitor.pid, SIGKILL) }
            let deadline = MonotonicClock.seconds() + 10
            while monitors.contains(where: \.isAlive), MonotonicClock.seconds() < deadline { usleep(2000) }
            try? runtime.kill(id: entry.id, signal: SIGKILL, all: true)
            try removeFiles(id: entry.id, volumes: volumes)
        }
    }

    /// The monitors of container `id` in this store, without its record: processes running
    /// `skiff container-monitor --root ROOT ... ID`, and the parent of the init the runtime's
    /// state names when it is a monitor of `id` (the same store spelled another way).
    func monitorProcesses(id: String) -> [ProcessLease] {
        func isMonitor(_ arguments: [String], sameRoot: Bool) -> Bool {
            guard arguments.count > 1, arguments[1] == "container-monitor", arguments.contains(id) else { return false }
            guard sameRoot else { return true }
            guard let flag = arguments.firstIndex(of: "--root"), flag + 1 < arguments.count else { return false }
            return arguments[flag + 1] == store.root
        }
        var found = ProcStat.allPids().compactMap { pid -> ProcessLease? in
            guard pid != getpid(), let arguments = ProcStat.commandLine(pid: pid), isMonitor(arguments, sameRoot: true),
                let stat = ProcStat.read(pid: pid)
            else { return nil }
            return ProcessLease(pid: pid, startTime: stat.startTime)
        }
        if let initPid = (try? runtime.state(id: id))?.pid, initPid > 0, let parent = ProcStat.read(pid: initPid)?.parentPid, parent > 1,
            !found.contains(where: { $0.pid == parent }), let arguments = ProcStat.commandLine(pid: parent),
            isMonitor(arguments, sameRoot: false), let stat = ProcStat.read(pid: parent)
        {
            found.append(ProcessLease(pid: parent, startTime: stat.startTime))
        }
        return found
    }
}

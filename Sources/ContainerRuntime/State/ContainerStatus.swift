#if canImport(Glibc)
import Glibc
#endif
import LinuxSupport
import OCISpec

extension ContainerRecord {
    /// The live status: the process must exist with the recorded start time and not be a zombie.
    func status(store: StateStore) -> State.Status {
        guard pid > 0, let stat = ProcStat.read(pid: pid), stat.startTime == startTime, stat.state != "Z" else {
            return .stopped
        }
        if !ready { return .creating }
        if FileIO.exists(store.fifoPath(for: id)) { return .created }
        if cgroup?.isFrozen == true { return .paused }
        return .running
    }

    /// The spec's state document for this container.
    func state(store: StateStore) -> State {
        let status = status(store: store)
        return State(id: id, status: status, pid: status == .stopped ? 0 : pid, bundle: bundle, annotations: spec.annotations)
    }
}

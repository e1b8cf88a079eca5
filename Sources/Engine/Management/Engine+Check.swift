import ImageStore
import LinuxSupport

extension Engine {
    /// `skiff system check [--repair]`: the image store's check (`ImageStore.check`), then every
    /// container directory: records that parse, root filesystems whose snapshots exist and are
    /// mounted, monitors alive for running containers, and directories without a record. With
    /// `repair`, incomplete directories of dead creators are removed (through the containers
    /// lock's cleanup). The two locks are taken one after the other, never nested (create holds
    /// the containers lock and then the store's).
    public func checkSystem(repair: Bool) throws -> StoreCheckReport {
        var report = try images.check(repair: repair)
        for entry in store.unlisted() {
            report.containers += 1
            switch entry.problem {
            case .incomplete(_, let alive):
                if alive { continue }  // a create under way
                var problem = CheckProblem(
                    area: .container, subject: entry.shortID,
                    problem: "incomplete: the create that made it was killed before it wrote the record",
                    remedy: "removed with its overlay mount", repairable: true)
                if repair {
                    _ = try store.locked { () }
                    problem.repaired = !FileIO.exists(store.directory(for: entry.id))
                }
                report.problems.append(problem)
            case .damaged(let reason):
                report.problems.append(
                    CheckProblem(
                        area: .container, subject: entry.shortID, problem: "damaged: \(reason)",
                        remedy: "`skiff rm -f \(entry.shortID)` stops and removes it", repairable: false))
            }
        }
        for record in store.all() {
            report.containers += 1
            if let problem = images.checkContainerRootfs(id: record.id) {
                report.problems.append(
                    CheckProblem(
                        area: .container, subject: "\(record.shortID) (\(record.name))", problem: problem,
                        remedy: "`skiff rm -f \(record.name)` removes it", repairable: false))
            }
            let live = liveStatus(record)
            if live.isRunning && live.monitorLost {
                report.problems.append(
                    CheckProblem(
                        area: .container, subject: "\(record.shortID) (\(record.name))",
                        problem: "running but its monitor is gone: output and exit code are not collected",
                        remedy: "`skiff stop \(record.name)` or `skiff rm -f \(record.name)`", repairable: false))
            }
        }
        return report
    }
}

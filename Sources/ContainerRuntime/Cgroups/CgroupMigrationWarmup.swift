import Dispatch
#if canImport(Glibc)
import Glibc
#endif
import LinuxSupport

/// Starts, early and on another thread, the RCU grace period that the kernel waits for on the
/// first cgroup migration after a quiet spell.
///
/// Every write to a `cgroup.procs` file takes the kernel's global threadgroup lock for writing,
/// which first waits for an RCU grace period (4-18 ms on this kind of host) unless another such
/// write happened in the last grace period or so. Moving a new container's init into its cgroup
/// is therefore the longest step of `create`, and it can only begin once init exists. This writes
/// the runtime's own pid into the cgroup it already is in (a migration that moves nothing) as soon
/// as `create` or `exec` starts, so the grace period runs while the bundle is read and init is
/// spawned, and the real move finds the lock warm. Any failure (no permission, no hierarchy) is
/// ignored: the only cost is then the wait the real move would have paid anyway.
enum CgroupMigrationWarmup {
    static func begin(layout: CgroupLayout) {
        guard let procs = ownProcsFile(layout: layout) else { return }
        let pid = getpid()
        DispatchQueue.global().async {
            try? FileIO.writeExisting(procs, "\(pid)")
            RuntimeTrace.mark("cgroup lock warm")
        }
    }

    /// The cgroup.procs file of the cgroup this process is in, in one mounted hierarchy.
    static func ownProcsFile(layout: CgroupLayout) -> String? {
        guard let text = try? FileIO.readString("/proc/self/cgroup") else { return nil }
        return procsFile(selfCgroup: text, layout: layout)
    }

    /// Picks a hierarchy from /proc/self/cgroup's text ("ID:CONTROLLERS:PATH" lines); pure, for tests.
    static func procsFile(selfCgroup: String, layout: CgroupLayout) -> String? {
        for line in selfCgroup.split(separator: "\n") {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3, fields[2].hasPrefix("/") else { continue }
            let path = String(fields[2])
            let mount: String?
            if fields[1].isEmpty {
                mount = layout.unified
            } else {
                mount = fields[1].split(separator: ",").lazy.compactMap { layout.v1[String($0)] }.first
            }
            guard let mount else { continue }
            return (path == "/" ? mount : mount + path) + "/cgroup.procs"
        }
        return nil
    }
}

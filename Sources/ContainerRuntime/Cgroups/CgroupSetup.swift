import Dispatch
import OCISpec

/// Makes a container's cgroup and moves its init into it on a Dispatch thread, so that `create`
/// can send init its configuration meanwhile. It exists because the move waits for an RCU grace
/// period in the kernel (several milliseconds on cgroup v1), the longest single step of a create.
/// The directories are reported as soon as they exist: init can bind-mount them while the move
/// is still waiting.
final class CgroupSetup: @unchecked Sendable {
    private let createdSignal = DispatchSemaphore(value: 0)
    private let doneSignal = DispatchSemaphore(value: 0)
    private var created = false
    private var failure: (any Error)?
    private var waitedCreated = false
    private var waitedDone = false

    /// - Parameters:
    ///   - create: make the directories and apply the limits (false: made before init was spawned).
    ///   - deviceRulesOnly: with `create` false, the pure cgroup2 directory exists without its
    ///     device filter.
    ///   - moveV1, moveUnified: which hierarchies to move init into by pid (init may join the v1
    ///     ones itself, and the kernel may have cloned it into the cgroup2 one).
    init(cgroup: Cgroup, pid: Int32, resources: Resources?, devices: [Device], controllersInUnified: Set<String>,
         create: Bool = true, deviceRulesOnly: Bool = false, moveV1: Bool = true, moveUnified: Bool = true) {
        DispatchQueue.global().async {
            do {
                if create {
                    try cgroup.create(resources: resources, devices: devices, controllersInUnified: controllersInUnified)
                } else if deviceRulesOnly {
                    try cgroup.attachDeviceFilter(resources: resources, devices: devices)
                }
                self.created = true
                self.createdSignal.signal()
                try cgroup.add(pid: pid, v1: moveV1, unified: moveUnified)
            } catch {
                self.failure = error
                if !self.created { self.createdSignal.signal() }
            }
            self.doneSignal.signal()
        }
    }

    /// Waits until the directories exist (throws what prevented them).
    func waitCreated() throws {
        if !waitedCreated {
            createdSignal.wait()
            waitedCreated = true
        }
        if !created, let failure { throw failure }
    }

    /// Waits for the whole work; returns whether the directories were made (to be removed if the
    /// create fails) and throws what failed.
    @discardableResult
    func waitDone() -> (created: Bool, failure: (any Error)?) {
        if !waitedDone {
            doneSignal.wait()
            waitedDone = true
        }
        return (created, failure)
    }
}

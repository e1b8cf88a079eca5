import LinuxSupport
import OCISpec

/// Makes a container's cgroup and moves its init into it on threads of its own, so that `create`
/// can send init its configuration meanwhile. It exists because the move waits for an RCU grace
/// period in the kernel (several milliseconds on cgroup v1), the longest single step of a create.
/// The directories are reported as soon as they exist: init can bind-mount them while the move
/// is still waiting.
final class CgroupSetup: Sendable {
    /// Makes the directories, then starts the move and hands it over.
    private let creation: BackgroundThread<BackgroundThread<Void>>

    /// - Parameters:
    ///   - create: make the directories and apply the limits (false: made before init was spawned).
    ///   - deviceRulesOnly: with `create` false, the pure cgroup2 directory exists without its
    ///     device filter.
    ///   - moveV1, moveUnified: which hierarchies to move init into by pid (init may join the v1
    ///     ones itself, and the kernel may have cloned it into the cgroup2 one).
    init(
        cgroup: Cgroup, pid: Int32, resources: Resources?, devices: [Device], controllersInUnified: Set<String>,
        create: Bool = true, deviceRulesOnly: Bool = false, moveV1: Bool = true, moveUnified: Bool = true
    ) {
        creation = BackgroundThread {
            if create {
                try cgroup.create(resources: resources, devices: devices, controllersInUnified: controllersInUnified)
            } else if deviceRulesOnly {
                try cgroup.attachDeviceFilter(resources: resources, devices: devices)
            }
            // The move may wait for the kernel; the directories are reported as made meanwhile.
            return BackgroundThread { try cgroup.add(pid: pid, v1: moveV1, unified: moveUnified) }
        }
    }

    /// Waits until the directories exist (throws what prevented them).
    func waitCreated() throws {
        _ = try creation.value()
    }

    /// Waits for the whole work; returns whether the directories were made (to be removed if the
    /// create fails) and throws what failed.
    @discardableResult
    func waitDone() -> (created: Bool, failure: (any Error)?) {
        let move: BackgroundThread<Void>
        do { move = try creation.value() } catch { return (false, error) }
        do { try move.value() } catch { return (true, error) }
        return (true, nil)
    }
}

import OCISpec

/// What the runtime remembers about a container between commands (state.json in its directory).
public struct ContainerRecord: Codable, Sendable {
    public var id: String
    public var bundle: String
    public var rootfs: String
    /// Host pid of the container's init process; 0 while creating.
    public var pid: Int32
    /// Start time of `pid` in clock ticks (from /proc/PID/stat), to tell it from a reused pid.
    public var startTime: UInt64
    public var created: String
    public var cgroup: Cgroup?
    public var spec: Spec
    /// Whether the container got its own pid namespace (then killing init kills everything).
    public var ownPidNamespace: Bool
    /// False until init reported ready: until then the container is `creating`.
    public var ready: Bool

    public var annotations: [String: String]? { spec.annotations }
}

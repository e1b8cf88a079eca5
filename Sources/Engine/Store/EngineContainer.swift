/// What the engine knows about one container, stored as `<root>/containers/<id>/container.json`
/// and rewritten atomically under the store lock. It is the source of truth for `ps`, `inspect`,
/// names and exit codes; the live status is combined with the monitor's and the runtime's.
public struct EngineContainer: Codable, Sendable, Equatable {
    /// The engine's own lifecycle status, as last written.
    public enum Status: String, Codable, Sendable {
        case created, running, exited
    }

    public var id: String
    public var name: String
    public var image: String
    public var imageID: String
    public var created: String
    /// The program the container runs (the spec's process.args).
    public var command: [String]
    public var status: Status
    public var autoRemove: Bool
    public var stopSignal: String?
    /// The monitor's pid and kernel start time (to tell it from a recycled pid).
    public var monitorPid: Int32?
    public var monitorStartTime: UInt64?
    /// The container's init pid on the host while it runs.
    public var pid: Int32?
    public var startedAt: String?
    public var finishedAt: String?
    public var exitCode: Int32?
    /// The cgroup's OOM killer killed a process of its last run (nil: no, or not run yet).
    public var oomKilled: Bool?
    /// Why the last start failed, or what happened to the monitor.
    public var error: String?
    /// The image's labels with `--label` on top.
    public var labels: [String: String]?
    /// The image's ExposedPorts ("80/tcp").
    public var exposedPorts: [String]?
    /// Every volume the container mounts (named and anonymous), so `volume rm` can refuse.
    public var volumes: [String]?
    /// The anonymous volumes made for it, removed by `rm -v` and `--rm`.
    public var anonymousVolumes: [String]?
    /// -t and -i as created (nil in records older than them: false).
    public var tty: Bool?
    public var interactive: Bool?
    /// --restart, and how often the monitor restarted the program since the last `start`.
    public var restartPolicy: RestartPolicy?
    public var restartCount: Int?
    /// Set by `stop` (and cleared by `start`): the monitor must not restart the program.
    public var stopRequested: Bool?
    /// The program exited and the monitor waits out the backoff before restarting it.
    public var restarting: Bool?
    /// How the container is networked (nil in records older than networking).
    public var network: ContainerNetworkConfig?
    /// Its address and published ports while it runs on a bridge network.
    public var networkSettings: ContainerNetworkSettings?
    /// The host ids its user namespace maps (`--userns=auto`; nil: the host's user namespace).
    public var userNamespace: UserNamespaceMapping?
    /// The same for each network added by `network connect` while it runs (nil when none).
    public var connectedNetworkSettings: [ContainerNetworkSettings]?
    /// `--vm`: the container runs in its own micro-VM (nil: a process container).
    public var vm: MicroVMSettings?
    /// Frozen by `pause` (nil: not paused); cleared by `unpause`, and by each start.
    public var paused: Bool?
    /// `--log-driver`/`--log-opt` (nil: json-file without rotation, docker's default).
    public var logConfig: LogConfig?
    /// `--stop-timeout` (nil: 10 seconds).
    public var stopTimeout: Int?
    /// The health check its monitor runs (`--health-*` over the image's HEALTHCHECK; nil: none).
    public var healthcheck: HealthConfig?

    /// "vm" for a container in a micro-VM, "process" otherwise (`ps`, `inspect`).
    public var isolation: String { vm == nil ? "process" : "vm" }

    /// Every network the container is attached to now, its first network first.
    public var allNetworkSettings: [ContainerNetworkSettings] {
        (networkSettings.map { [$0] } ?? []) + (connectedNetworkSettings ?? [])
    }

    public init(
        id: String, name: String, image: String, imageID: String, created: String, command: [String],
        autoRemove: Bool, stopSignal: String?
    ) {
        self.id = id
        self.name = name
        self.image = image
        self.imageID = imageID
        self.created = created
        self.command = command
        self.status = .created
        self.autoRemove = autoRemove
        self.stopSignal = stopSignal
    }

    public var shortID: String { String(id.prefix(12)) }
}

/// The status a reader reports after checking the monitor and the runtime: the record's status
/// alone cannot be trusted when a monitor was killed.
public struct LiveStatus: Sendable, Equatable {
    public enum State: String, Sendable {
        case created, running, exited
    }
    public var state: State
    public var exitCode: Int32?
    /// The monitor is gone while the record says running: the container may still run, but
    /// nobody collects its output or exit code.
    public var monitorLost: Bool

    public var isRunning: Bool { state == .running }
}

import Networking

/// Everything `skiff run`/`create` can set on a container, parsed by the CLI and turned into an
/// OCI spec by `SpecBuilder`.
public struct RunOptions: Sendable, Equatable {
    /// `--network`: no network (a namespace with loopback only), the host's, a bridge network
    /// by name (`bridge` is the default network), or another container's namespace
    /// (`container:NAME`, the name or ID as given; the engine records the ID).
    public enum NetworkMode: Sendable, Equatable {
        case none, host
        case bridge(String)
        case container(String)

        public init(parsing text: String) {
            switch text {
            case "none": self = .none
            case "host": self = .host
            default:
                if text.hasPrefix("container:") {
                    self = .container(String(text.dropFirst("container:".count)))
                } else {
                    self = .bridge(text)
                }
            }
        }

        public var name: String {
            switch self {
            case .none: return "none"
            case .host: return "host"
            case .bridge(let name): return name
            case .container(let reference): return "container:" + reference
            }
        }

        /// The user network's name (one made by `network create`, not the default `bridge`).
        public var userNetwork: String? {
            if case .bridge(let name) = self, NetworkPeers.resolvesNames(name) { return name }
            return nil
        }
    }

    public var name: String?
    public var env: [String] = []
    public var workdir: String?
    public var user: String?
    public var entrypoint: String?
    public var hostname: String?
    public var volumes: [String] = []
    /// `--volumes-from CONTAINER[:ro|rw]`: every volume and bind of those containers, at the same
    /// destinations (a `-v`/`--mount` on the same destination wins), as docker does.
    public var volumesFrom: [String] = []
    public var readOnly = false
    /// `--vm` and its settings: run in a micro-VM (nil: as processes on this host).
    public var vm: MicroVMSettings?
    /// The resource flags (`--memory`, `--cpus`, `--cpuset-cpus`, ...), checked where the spec is built.
    public var limits = ResourceLimits()
    /// Bytes.
    public var memory: Int64? {
        get { limits.memory }
        set { limits.memory = newValue }
    }
    public var cpus: Double? {
        get { limits.cpus }
        set { limits.cpus = newValue }
    }
    public var pidsLimit: Int64? {
        get { limits.pidsLimit }
        set { limits.pidsLimit = newValue }
    }
    /// `--oom-score-adj`: -1000 to 1000.
    public var oomScoreAdj: Int?
    public var network: NetworkMode = .bridge(NetworkStore.defaultNetworkName)
    /// `-p`: published ports (bridge networks only).
    public var ports: [PortMapping] = []
    /// `-P`: publish every port the image exposes on a free host port.
    public var publishAll = false
    /// `--dns`, `--dns-search`, `--add-host NAME:IP`.
    public var dns: [String] = []
    public var dnsSearch: [String] = []
    public var addHosts: [String] = []
    /// `--network-alias NAME`: another name the container has on a user network.
    public var networkAliases: [String] = []
    public var autoRemove = false
    public var arguments: [String] = []
    /// `--tmpfs /path[:options]`.
    public var tmpfs: [String] = []
    /// `--cap-add` / `--cap-drop` (names with or without CAP_, or ALL).
    public var capAdd: [String] = []
    public var capDrop: [String] = []
    public var privileged = false
    /// `--userns`: the host's user namespace, or one of the container's own (`auto`).
    public var userns: UserNamespaceOption = .host
    /// `--security-opt` entries (no-new-privileges[:true|false], seccomp=unconfined|FILE).
    public var securityOpts: [String] = []
    /// `--label k=v`, added to the image's labels.
    public var labels: [String: String] = [:]
    /// `--stop-signal`, overriding the image's StopSignal.
    public var stopSignal: String?
    /// `--stop-timeout`: seconds `stop` waits before SIGKILL when not told (docker's default 10).
    public var stopTimeout: Int?
    /// `--log-driver`, `--log-opt`.
    public var logConfig: LogConfig = .jsonFile
    /// `--health-*`, `--no-healthcheck`.
    public var health = HealthOptions()
    /// `--domainname`, `--annotation KEY=VALUE`, `--expose PORT[/PROTO]` (ranges too).
    public var domainname: String?
    public var annotations: [String: String] = [:]
    public var expose: [String] = []
    /// `--ip`: the address on the container's first network.
    public var ipAddress: String?
    /// `--mac-address`: the MAC address of the container's interface on its first network.
    public var macAddress: String?
    /// `--link NAME[:ALIAS]`: docker's legacy links, a hosts entry for a running container.
    public var links: [String] = []
    /// `--pid`, `--ipc`, `--uts`, `--cgroupns`.
    public var namespaces = NamespaceModes()
    /// `--ulimit name=soft[:hard]`.
    public var ulimits: [String] = []
    /// -i: keep stdin open (a pipe the monitor forwards, or the pty's input with -t).
    public var interactive = false
    /// -t: the program runs on a pty whose master the monitor holds.
    public var tty = false
    /// --restart: what the monitor does when the program exits.
    public var restart: RestartPolicy = .no
    /// --init: a minimal init as PID 1 that reaps zombies and forwards signals.
    public var initProcess = false
    /// `--shm-size`: bytes of the container's /dev/shm (docker's default 64 MiB).
    public var shmSize: Int64?
    /// `--sysctl KEY=VALUE`: namespaced kernel parameters.
    public var sysctls: [String] = []
    /// `--device HOST[:CONTAINER][:PERMISSIONS]`: host devices made available.
    public var devices: [String] = []
    /// `--group-add GROUP`: more groups (names from the image's /etc/group, or numbers).
    public var groupAdd: [String] = []

    public init() {}
}

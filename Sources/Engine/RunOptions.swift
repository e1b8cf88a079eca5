/// Everything `skiff run`/`create` can set on a container, parsed by the CLI and turned into an
/// OCI spec by `SpecBuilder`.
public struct RunOptions: Sendable, Equatable {
    public enum NetworkMode: String, Sendable { case none, host }

    public var name: String?
    public var env: [String] = []
    public var workdir: String?
    public var user: String?
    public var entrypoint: String?
    public var hostname: String?
    public var volumes: [String] = []
    public var readOnly = false
    /// Bytes.
    public var memory: Int64?
    public var cpus: Double?
    public var pidsLimit: Int64?
    public var network: NetworkMode = .none
    public var autoRemove = false
    public var arguments: [String] = []
    /// -i: keep stdin open (a pipe the monitor forwards, or the pty's input with -t).
    public var interactive = false
    /// -t: the program runs on a pty whose master the monitor holds.
    public var tty = false
    /// --restart: what the monitor does when the program exits.
    public var restart: RestartPolicy = .no
    /// --init: a minimal init as PID 1 that reaps zombies and forwards signals.
    public var initProcess = false

    public init() {}
}

/// A parsed `-v host:container[:ro|rw]`.
public struct BindVolume: Sendable, Equatable {
    public var source: String
    public var destination: String
    public var readOnly: Bool

    public init(parsing text: String) throws {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 || parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw EngineError.invalidOption("invalid volume '\(text)': use -v /host/path:/container/path[:ro]")
        }
        guard parts[0].hasPrefix("/") else {
            throw EngineError.invalidOption("invalid volume '\(text)': named volumes are not supported yet; give an absolute host path")
        }
        guard parts[1].hasPrefix("/") else {
            throw EngineError.invalidOption("invalid volume '\(text)': the container path must be absolute")
        }
        var readOnly = false
        if parts.count == 3 {
            switch parts[2] {
            case "ro": readOnly = true
            case "rw", "": readOnly = false
            default: throw EngineError.invalidOption("invalid volume mode '\(parts[2])' in '\(text)': use ro or rw")
            }
        }
        source = parts[0]
        destination = parts[1]
        self.readOnly = readOnly
    }
}

import ArgumentParser
import Engine

/// `skiff port CONTAINER [PRIVATE_PORT[/PROTO]]`: the published ports of a running container,
/// as docker prints them (`80/tcp -> 0.0.0.0:8080`).
struct PortCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "port", abstract: "List a container's published ports.")

    @OptionGroup var engineOptions: EngineOptions
    @Argument(help: "Container (name, ID or ID prefix).") var container: String
    @Argument(help: "Only this container port: PORT or PORT/PROTO.") var privatePort: String?

    func run() async throws {
        try await withEngineErrors {
            let engine = try engineOptions.openEngine()
            let record = try engine.store.resolve(container)
            let ports = engine.liveStatus(record).isRunning ? record.networkSettings?.ports ?? [] : []
            var wanted: (port: UInt16, proto: String?)?
            if let privatePort {
                let parts = privatePort.split(separator: "/", maxSplits: 1).map(String.init)
                guard let port = parts.first.flatMap({ UInt16($0) }) else {
                    throw EngineError.invalidOption("invalid port '\(privatePort)': use PORT or PORT/PROTO")
                }
                wanted = (port, parts.count > 1 ? parts[1].lowercased() : nil)
            }
            let shown = ports.filter { mapping in
                wanted.map { mapping.containerPort == $0.port && ($0.proto == nil || $0.proto == mapping.proto) } ?? true
            }
            if let privatePort, shown.isEmpty {
                throw EngineError.invalidOption("no public port '\(privatePort)' published for \(record.name)")
            }
            for mapping in shown {
                let address = mapping.hostIP.isEmpty ? "0.0.0.0" : (mapping.hostIP.contains(":") ? "[\(mapping.hostIP)]" : mapping.hostIP)
                let line = "\(address):\(mapping.hostPort)"
                print(wanted == nil ? "\(mapping.containerPort)/\(mapping.proto) -> \(line)" : line)
            }
        }
    }
}

/// `skiff pause CONTAINER...`: freezes every process of the containers (their cgroup freezer).
struct PauseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pause", abstract: "Pause all processes within containers.")

    @OptionGroup var engineOptions: EngineOptions
    @Argument(help: "Containers (name, ID or ID prefix).") var containers: [String]

    func run() async throws {
        try await withEngineErrors {
            let engine = try engineOptions.openEngine()
            try forEachContainer(containers) { try engine.pause($0) }
        }
    }
}

/// `skiff unpause CONTAINER...`.
struct UnpauseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "unpause", abstract: "Unpause all processes within containers.")

    @OptionGroup var engineOptions: EngineOptions
    @Argument(help: "Containers (name, ID or ID prefix).") var containers: [String]

    func run() async throws {
        try await withEngineErrors {
            let engine = try engineOptions.openEngine()
            try forEachContainer(containers) { try engine.unpause($0) }
        }
    }
}

/// docker's way with several containers: each one that works is printed, each failure is
/// reported, and the command fails at the end if any did.
func forEachContainer(_ references: [String], _ body: (String) throws -> Void) throws {
    var failed = false
    for reference in references {
        do {
            try body(reference)
            print(reference)
        } catch {
            printEngineError("\(error)")
            failed = true
        }
    }
    if failed { throw ExitCode(1) }
}

/// `skiff update [OPTIONS] CONTAINER...`: new limits (at once for a running container) and
/// restart policy.
struct UpdateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "update", abstract: "Update the resource limits and restart policy of containers.")

    @OptionGroup var engineOptions: EngineOptions
    @Option(name: [.customShort("m"), .customLong("memory")], help: "Memory limit (bytes, or with b, k, m, g).") var memory: String?
    @Option(help: "Number of CPUs (fractions allowed).") var cpus: Double?
    @Option(name: .customLong("pids-limit"), help: "Maximum number of processes (-1: unlimited).") var pidsLimit: Int64?
    @OptionGroup var resources: ResourceFlags
    @Option(help: "Restart policy: no, on-failure[:max-retries], always, unless-stopped.") var restart: String?
    @Argument(help: "Containers (name, ID or ID prefix).") var containers: [String]

    func run() async throws {
        try await withEngineErrors {
            let engine = try engineOptions.openEngine()
            let limits = try resources.limits(memory: memory, cpus: cpus, pidsLimit: pidsLimit)
            if resources.oomScoreAdj != nil || resources.oomKillDisable || resources.memorySwappiness != nil {
                throw EngineError.invalidOption(
                    "--oom-score-adj, --oom-kill-disable and --memory-swappiness are set at create, not by update")
            }
            let policy = try restart.map(RestartPolicy.init(parsing:))
            try forEachContainer(containers) { try engine.update($0, limits: limits, restart: policy) }
        }
    }
}

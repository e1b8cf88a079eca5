import ArgumentParser
import ContainerRuntime
import Engine
import LinuxSupport
import Networking
import OCISpec

/// `skiff inspect CONTAINER...`: docker-shaped JSON of the record, live state and spec.
struct InspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Show containers as JSON.")

    @OptionGroup var engineOptions: EngineOptions
    @Option(name: [.customShort("f"), .customLong("format")], help: "Output: json (default) or a Go template such as '{{.State.Pid}}'.")
    var format: String?
    @Argument(help: "Containers (name, ID or ID prefix).") var containers: [String]

    struct StateView: Codable {
        var Status: String
        var Running: Bool
        var Pid: Int32
        var ExitCode: Int32?
        var Error: String
        var StartedAt: String?
        var FinishedAt: String?
        var MonitorPid: Int32?
        var MonitorLost: Bool
        var Restarting: Bool
    }
    struct ConfigView: Codable {
        var Hostname: String?
        var User: String
        var Env: [String]
        var Cmd: [String]
        var WorkingDir: String
        var Image: String
        var Labels: [String: String]
        var ExposedPorts: [String: [String: String]]?
        var StopSignal: String?
        var Tty: Bool
        var OpenStdin: Bool
    }
    struct RestartPolicyView: Codable {
        var Name: String
        var MaximumRetryCount: Int
    }
    struct HostConfigView: Codable {
        var AutoRemove: Bool
        var ReadonlyRootfs: Bool
        var Binds: [String]
        var Memory: Int64
        var NanoCpus: Int64
        var PidsLimit: Int64
        var RestartPolicy: RestartPolicyView
        var Init: Bool
        var Privileged: Bool
        var Capabilities: [String]
        var SecurityOpt: [String]
        var Tmpfs: [String: String]
        var Ulimits: [UlimitView]
        var NetworkMode: String
        var PortBindings: [String: [PortBinding]]
        var Dns: [String]
        var ExtraHosts: [String]
        /// docker's field: "process" or, for `--vm`, "vm".
        var Isolation: String
    }
    /// skiff's own: the micro-VM of a `--vm` container.
    struct MicroVMView: Codable {
        var Backend: String
        var MemoryMiB: Int
        var CPUs: Int
        var Kernel: String
        var Initrd: String
    }
    struct PortBinding: Codable {
        var HostIp: String
        var HostPort: String
    }
    struct EndpointView: Codable {
        var NetworkID: String
        var IPAddress: String
        var IPPrefixLen: Int
        var Gateway: String
        var MacAddress: String
        /// docker's: the --network-alias names and the short ID on a user network, null on `bridge`.
        var Aliases: [String]?
    }
    struct NetworkSettingsView: Codable {
        var IPAddress: String
        var IPPrefixLen: Int
        var Gateway: String
        var MacAddress: String
        var SandboxKey: String
        var Ports: [String: [PortBinding]]
        var Networks: [String: EndpointView]
    }
    struct UlimitView: Codable {
        var Name: String
        var Soft: Int64
        var Hard: Int64
    }
    struct MountView: Codable {
        var `Type`: String
        var Name: String?
        var Source: String
        var Destination: String
        var RW: Bool
    }
    struct View: Codable {
        var Id: String
        var Name: String
        var Created: String
        var Path: String
        var Args: [String]
        var State: StateView
        var RestartCount: Int
        var Image: String
        var LogPath: String
        var Config: ConfigView
        var HostConfig: HostConfigView
        var MicroVM: MicroVMView?
        var Mounts: [MountView]
        var NetworkSettings: NetworkSettingsView
    }

    static func bindings(_ ports: [PortMapping]) -> [String: [PortBinding]] {
        var result: [String: [PortBinding]] = [:]
        for port in ports {
            result["\(port.containerPort)/\(port.proto)", default: []].append(
                PortBinding(HostIp: port.hostIP.isEmpty ? "0.0.0.0" : port.hostIP, HostPort: port.hostPort == 0 ? "" : "\(port.hostPort)"))
        }
        return result
    }

    func run() async throws {
        try await withEngineErrors {
            let engine = try engineOptions.openEngine()
            var views: [View] = []
            for container in containers {
                let record = try engine.store.resolve(container)
                let live = engine.liveStatus(record)
                let spec = try? RuntimeJSON.decode(Spec.self, from: FileIO.read(engine.store.directory(for: record.id) + "/config.json"))
                let process = spec?.process
                let resources = spec?.linux?.resources
                let binds = (spec?.mounts ?? []).filter { $0.type == "bind" && !["/etc/hosts", "/etc/hostname", "/etc/resolv.conf"].contains($0.destination) }
                    .map { "\(InspectDetails.bindSource($0.source ?? "", volumesDirectory: engine.volumes.directory)):\($0.destination)" + (($0.options ?? []).contains("ro") ? ":ro" : "") }
                let settings = live.isRunning ? record.networkSettings : nil
                var networks: [String: EndpointView] = [:]
                for attached in live.isRunning ? record.allNetworkSettings : [] {
                    let aliases = record.network?.allNetworks.first { $0.name == attached.network }?.aliases ?? []
                    networks[attached.network] = EndpointView(NetworkID: attached.networkID, IPAddress: attached.ipAddress ?? "",
                                                              IPPrefixLen: attached.prefixLength ?? 0, Gateway: attached.gateway ?? "",
                                                              MacAddress: attached.macAddress ?? "",
                                                              Aliases: NetworkPeers.resolvesNames(attached.network)
                                                                  ? aliases + [String(record.id.prefix(12))] : nil)
                }
                let networkSettings = NetworkSettingsView(
                    IPAddress: settings?.ipAddress ?? "", IPPrefixLen: settings?.prefixLength ?? 0, Gateway: settings?.gateway ?? "",
                    MacAddress: settings?.macAddress ?? "", SandboxKey: settings == nil ? "" : engine.netnsPath(for: record.id),
                    Ports: Self.bindings(settings?.ports ?? []), Networks: networks)
                let resolv = (try? FileIO.readString(engine.store.directory(for: record.id) + "/resolv.conf")) ?? ""
                let dns = resolv.split(separator: "\n").filter { $0.hasPrefix("nameserver ") }.map { String($0.dropFirst(11)) }
                let quota = resources?.cpu?.quota ?? 0
                let period = Int64(resources?.cpu?.period ?? 100_000)
                views.append(View(
                    Id: record.id, Name: "/" + record.name, Created: record.created, Path: record.command.first ?? "",
                    Args: Array(record.command.dropFirst()),
                    State: StateView(Status: engine.isRestarting(record) ? "restarting" : live.state.rawValue, Running: live.isRunning, Pid: live.isRunning ? record.pid ?? 0 : 0,
                                     ExitCode: live.exitCode, Error: record.error ?? "", StartedAt: record.startedAt,
                                     FinishedAt: record.finishedAt, MonitorPid: live.isRunning ? record.monitorPid : nil,
                                     MonitorLost: live.monitorLost, Restarting: engine.isRestarting(record)),
                    RestartCount: record.restartCount ?? 0,
                    Image: record.imageID, LogPath: engine.store.logPath(for: record.id),
                    Config: ConfigView(Hostname: spec?.hostname, User: process.map { "\($0.user.uid):\($0.user.gid)" } ?? "",
                                       Env: process?.env ?? [], Cmd: record.command, WorkingDir: process?.cwd ?? "/", Image: record.image,
                                       Labels: record.labels ?? [:],
                                       ExposedPorts: record.exposedPorts.map { Dictionary(uniqueKeysWithValues: $0.map { ($0, [:]) }) },
                                       StopSignal: record.stopSignal,
                                       Tty: record.hasTTY, OpenStdin: record.isInteractive),
                    HostConfig: HostConfigView(AutoRemove: record.autoRemove, ReadonlyRootfs: spec?.root?.readonly ?? false, Binds: binds,
                                               Memory: resources?.memory?.limit ?? 0,
                                               NanoCpus: period > 0 ? quota * 1_000_000_000 / period : 0,
                                               PidsLimit: resources?.pids?.limit ?? 0,
                                               RestartPolicy: RestartPolicyView(Name: record.policy.name,
                                                                                MaximumRetryCount: record.policy.maximumRetryCount),
                                               Init: spec?.annotations?[InitReaper.annotation] == "true",
                                               Privileged: spec.map(InspectDetails.isPrivileged) ?? false,
                                               Capabilities: process?.capabilities?.bounding ?? [],
                                               SecurityOpt: spec.map(InspectDetails.securityOpt) ?? [],
                                               Tmpfs: spec.map(InspectDetails.tmpfs) ?? [:],
                                               Ulimits: (process?.rlimits ?? []).map(InspectDetails.ulimit),
                                               NetworkMode: record.network.map { $0.network ?? $0.mode } ?? "none",
                                               PortBindings: Self.bindings(record.network?.ports ?? []), Dns: dns,
                                               ExtraHosts: record.network?.extraHosts ?? [], Isolation: record.isolation),
                    MicroVM: record.vm.map {
                        MicroVMView(Backend: $0.backend ?? "qemu", MemoryMiB: $0.memoryMiB, CPUs: $0.cpus, Kernel: $0.kernel ?? "default",
                                    Initrd: $0.initrd ?? "default")
                    },
                    Mounts: spec.map { InspectDetails.mounts($0, volumesDirectory: engine.volumes.directory) } ?? [],
                    NetworkSettings: networkSettings))
            }
            try TemplateOutput.print(views, format: format)
        }
    }
}

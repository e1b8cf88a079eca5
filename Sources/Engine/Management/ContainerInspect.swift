import ContainerRuntime
import LinuxSupport
import Networking
import OCISpec

/// docker-shaped JSON of a container: the record, its live state and its spec, as `skiff inspect`
/// prints it and the Docker API's `GET /containers/{id}/json` answers it.
public struct ContainerInspect: Codable, Sendable {
    public var Id: String
    public var Name: String
    public var Created: String
    public var Path: String
    public var Args: [String]
    public var State: StateView
    public var RestartCount: Int
    public var Image: String
    public var LogPath: String
    public var Config: ConfigView
    public var HostConfig: HostConfigView
    public var MicroVM: MicroVMView?
    public var Mounts: [MountView]
    public var NetworkSettings: NetworkSettingsView

    /// docker's State, every field always present with docker's zero values (scripts read
    /// `.State.ExitCode` and `.State.FinishedAt` of running containers too), plus skiff's monitor.
    public struct StateView: Codable, Sendable {
        public var Status: String
        public var Running: Bool
        public var Paused: Bool
        public var Restarting: Bool
        public var OOMKilled: Bool
        public var Dead: Bool
        public var Pid: Int32
        public var ExitCode: Int32
        public var Error: String
        public var StartedAt: String
        public var FinishedAt: String
        public var Health: HealthState
        public var MonitorPid: Int32?
        public var MonitorLost: Bool
    }

    /// Go's zero time, which docker prints for a start or finish that has not happened.
    public static let zeroTime = "0001-01-01T00:00:00Z"
    public struct ConfigView: Codable, Sendable {
        public var Hostname: String?
        public var User: String
        public var Env: [String]
        public var Cmd: [String]
        public var WorkingDir: String
        public var Image: String
        public var Labels: [String: String]
        public var ExposedPorts: [String: [String: String]]?
        public var StopSignal: String?
        public var StopTimeout: Int?
        public var Healthcheck: Healthcheck?
        public var Tty: Bool
        public var OpenStdin: Bool
    }
    public struct LogConfigView: Codable, Sendable {
        public var `Type`: String
        public var Config: [String: String]
    }
    public struct RestartPolicyView: Codable, Sendable {
        public var Name: String
        public var MaximumRetryCount: Int
    }
    public struct HostConfigView: Codable, Sendable {
        public var AutoRemove: Bool
        public var ReadonlyRootfs: Bool
        public var Binds: [String]
        public var Memory: Int64
        public var NanoCpus: Int64
        public var PidsLimit: Int64
        public var RestartPolicy: RestartPolicyView
        public var Init: Bool
        public var Privileged: Bool
        public var Capabilities: [String]
        public var SecurityOpt: [String]
        public var Tmpfs: [String: String]
        public var Ulimits: [UlimitView]
        public var NetworkMode: String
        public var PortBindings: [String: [PortBinding]]
        public var Dns: [String]
        public var ExtraHosts: [String]
        /// docker's field: "process" or, for `--vm`, "vm".
        public var Isolation: String
        public var MemorySwap: Int64
        public var MemoryReservation: Int64
        public var OomKillDisable: Bool
        public var CpuShares: Int64
        public var CpuPeriod: Int64
        public var CpuQuota: Int64
        public var CpusetCpus: String
        public var CpusetMems: String
        public var BlkioWeight: Int
        public var OomScoreAdj: Int
        public var LogConfig: LogConfigView
    }
    /// skiff's own: the micro-VM of a `--vm` container.
    public struct MicroVMView: Codable, Sendable {
        public var Backend: String
        public var MemoryMiB: Int
        public var CPUs: Int
        public var Kernel: String
        public var Initrd: String
    }
    public struct PortBinding: Codable, Sendable {
        public var HostIp: String
        public var HostPort: String
    }
    public struct EndpointView: Codable, Sendable {
        public var NetworkID: String
        public var IPAddress: String
        public var IPPrefixLen: Int
        public var Gateway: String
        public var MacAddress: String
        /// docker's: the --network-alias names and the short ID on a user network, null on `bridge`.
        public var Aliases: [String]?
        /// On a network with `--ipv6` (docker's zero values, "" and 0, elsewhere).
        public var GlobalIPv6Address = ""
        public var GlobalIPv6PrefixLen = 0
        public var IPv6Gateway = ""
    }
    public struct NetworkSettingsView: Codable, Sendable {
        public var IPAddress: String
        public var IPPrefixLen: Int
        public var Gateway: String
        public var MacAddress: String
        public var SandboxKey: String
        public var Ports: [String: [PortBinding]]
        public var Networks: [String: EndpointView]
        /// The first network's IPv6 settings (docker's zero values without `--ipv6`).
        public var GlobalIPv6Address = ""
        public var GlobalIPv6PrefixLen = 0
        public var IPv6Gateway = ""
    }
    public struct UlimitView: Codable, Sendable {
        public var Name: String
        public var Soft: Int64
        public var Hard: Int64
    }
    public struct MountView: Codable, Sendable {
        public var `Type`: String
        public var Name: String?
        public var Source: String
        public var Destination: String
        public var RW: Bool
    }

    public static func bindings(_ ports: [PortMapping]) -> [String: [PortBinding]] {
        var result: [String: [PortBinding]] = [:]
        for port in ports {
            result["\(port.containerPort)/\(port.proto)", default: []].append(
                PortBinding(HostIp: port.hostIP.isEmpty ? "0.0.0.0" : port.hostIP, HostPort: port.hostPort == 0 ? "" : "\(port.hostPort)"))
        }
        return result
    }
}

extension Engine {
    /// What `inspect` shows for `record`.
    public func inspect(_ record: EngineContainer) -> ContainerInspect {
        let live = liveStatus(record)
        let spec = try? RuntimeJSON.decode(Spec.self, from: FileIO.read(store.directory(for: record.id) + "/config.json"))
        let process = spec?.process
        let resources = spec?.linux?.resources
        let binds = (spec?.mounts ?? []).filter {
            $0.type == "bind" && !["/etc/hosts", "/etc/hostname", "/etc/resolv.conf"].contains($0.destination)
        }
        .map {
            "\(InspectDetails.bindSource($0.source ?? "", volumesDirectory: volumes.directory)):\($0.destination)"
                + (($0.options ?? []).contains("ro") ? ":ro" : "")
        }
        let settings = live.isRunning ? record.networkSettings : nil
        var networks: [String: ContainerInspect.EndpointView] = [:]
        for attached in live.isRunning ? record.allNetworkSettings : [] {
            let aliases = record.network?.allNetworks.first { $0.name == attached.network }?.aliases ?? []
            networks[attached.network] = ContainerInspect.EndpointView(
                NetworkID: attached.networkID, IPAddress: attached.ipAddress ?? "",
                IPPrefixLen: attached.prefixLength ?? 0, Gateway: attached.gateway ?? "",
                MacAddress: attached.macAddress ?? "",
                Aliases: NetworkPeers.resolvesNames(attached.network)
                    ? aliases + [String(record.id.prefix(12))] : nil,
                GlobalIPv6Address: attached.ipv6Address ?? "", GlobalIPv6PrefixLen: attached.ipv6PrefixLength ?? 0,
                IPv6Gateway: attached.ipv6Gateway ?? "")
        }
        let networkSettings = ContainerInspect.NetworkSettingsView(
            IPAddress: settings?.ipAddress ?? "", IPPrefixLen: settings?.prefixLength ?? 0, Gateway: settings?.gateway ?? "",
            MacAddress: settings?.macAddress ?? "", SandboxKey: settings == nil ? "" : netnsPath(for: record.id),
            Ports: ContainerInspect.bindings(settings?.ports ?? []), Networks: networks,
            GlobalIPv6Address: settings?.ipv6Address ?? "", GlobalIPv6PrefixLen: settings?.ipv6PrefixLength ?? 0,
            IPv6Gateway: settings?.ipv6Gateway ?? "")
        let resolv = (try? FileIO.readString(store.directory(for: record.id) + "/resolv.conf")) ?? ""
        let dns = resolv.split(separator: "\n").filter { $0.hasPrefix("nameserver ") }.map { String($0.dropFirst(11)) }
        let quota = resources?.cpu?.quota ?? 0
        let period = Int64(resources?.cpu?.period ?? 100_000)
        return ContainerInspect(
            Id: record.id, Name: "/" + record.name, Created: record.created, Path: record.command.first ?? "",
            Args: Array(record.command.dropFirst()),
            State: ContainerInspect.StateView(
                Status: isRestarting(record) ? "restarting" : (live.isRunning && record.paused == true ? "paused" : live.state.rawValue),
                Running: live.isRunning, Paused: live.isRunning && record.paused == true, Restarting: isRestarting(record),
                OOMKilled: record.oomKilled ?? false, Dead: false, Pid: live.isRunning ? record.pid ?? 0 : 0,
                ExitCode: live.exitCode ?? 0, Error: record.error ?? "", StartedAt: record.startedAt ?? ContainerInspect.zeroTime,
                FinishedAt: record.finishedAt ?? ContainerInspect.zeroTime, Health: health(of: record),
                MonitorPid: live.isRunning ? record.monitorPid : nil, MonitorLost: live.monitorLost),
            RestartCount: record.restartCount ?? 0,
            Image: record.imageID, LogPath: store.logPath(for: record.id),
            Config: ContainerInspect.ConfigView(
                Hostname: spec?.hostname, User: process.map { "\($0.user.uid):\($0.user.gid)" } ?? "",
                Env: process?.env ?? [], Cmd: record.command, WorkingDir: process?.cwd ?? "/", Image: record.image,
                Labels: record.labels ?? [:],
                ExposedPorts: record.exposedPorts.map { Dictionary(uniqueKeysWithValues: $0.map { ($0, [:]) }) },
                StopSignal: record.stopSignal, StopTimeout: record.stopTimeout, Healthcheck: record.healthcheck?.dockerForm,
                Tty: record.hasTTY, OpenStdin: record.isInteractive),
            HostConfig: ContainerInspect.HostConfigView(
                AutoRemove: record.autoRemove, ReadonlyRootfs: spec?.root?.readonly ?? false, Binds: binds,
                Memory: resources?.memory?.limit ?? 0,
                NanoCpus: period > 0 ? quota * 1_000_000_000 / period : 0,
                PidsLimit: resources?.pids?.limit ?? 0,
                RestartPolicy: ContainerInspect.RestartPolicyView(
                    Name: record.policy.name,
                    MaximumRetryCount: record.policy.maximumRetryCount),
                Init: spec?.annotations?[InitReaper.annotation] == "true",
                Privileged: spec.map(InspectDetails.isPrivileged) ?? false,
                Capabilities: process?.capabilities?.bounding ?? [],
                SecurityOpt: spec.map(InspectDetails.securityOpt) ?? [],
                Tmpfs: spec.map(InspectDetails.tmpfs) ?? [:],
                Ulimits: (process?.rlimits ?? []).map(InspectDetails.ulimit),
                NetworkMode: record.network.map { $0.network ?? $0.mode } ?? "none",
                PortBindings: ContainerInspect.bindings(record.network?.ports ?? []), Dns: dns,
                ExtraHosts: record.network?.extraHosts ?? [], Isolation: record.isolation,
                MemorySwap: resources?.memory?.swap ?? 0, MemoryReservation: resources?.memory?.reservation ?? 0,
                OomKillDisable: resources?.memory?.disableOOMKiller ?? false, CpuShares: Int64(resources?.cpu?.shares ?? 0),
                CpuPeriod: Int64(resources?.cpu?.period ?? 0), CpuQuota: resources?.cpu?.quota ?? 0,
                CpusetCpus: resources?.cpu?.cpus ?? "", CpusetMems: resources?.cpu?.mems ?? "",
                BlkioWeight: Int(resources?.blockIO?.weight ?? 0), OomScoreAdj: process?.oomScoreAdj ?? 0,
                LogConfig: ContainerInspect.LogConfigView(
                    Type: (record.logConfig ?? .jsonFile).driver.rawValue, Config: record.logConfig?.options ?? [:])),
            MicroVM: record.vm.map {
                ContainerInspect.MicroVMView(
                    Backend: $0.backend ?? "qemu", MemoryMiB: $0.memoryMiB, CPUs: $0.cpus, Kernel: $0.kernel ?? "default",
                    Initrd: $0.initrd ?? "default")
            },
            Mounts: spec.map { InspectDetails.mounts($0, volumesDirectory: volumes.directory) } ?? [],
            NetworkSettings: networkSettings)
    }
}

enum InspectDetails {
    /// docker's Binds name a volume by its name, a host directory by its path.
    static func bindSource(_ source: String, volumesDirectory: String) -> String {
        guard source.hasPrefix(volumesDirectory + "/") && source.hasSuffix("/_data") else { return source }
        return String(source.dropFirst(volumesDirectory.count + 1).dropLast(6))
    }

    static func isPrivileged(_ spec: Spec) -> Bool {
        spec.linux?.resources?.devices?.first?.allow == true && (spec.linux?.maskedPaths ?? []).isEmpty
    }

    static func securityOpt(_ spec: Spec) -> [String] {
        var result: [String] = []
        if spec.process?.noNewPrivileges == true { result.append("no-new-privileges") }
        if spec.linux?.seccomp == nil { result.append("seccomp=unconfined") }
        return result
    }

    static func tmpfs(_ spec: Spec) -> [String: String] {
        var result: [String: String] = [:]
        for mount in spec.mounts ?? [] where mount.type == "tmpfs" && !["/dev", "/dev/shm"].contains(mount.destination) {
            result[mount.destination] = (mount.options ?? []).joined(separator: ",")
        }
        return result
    }

    static func ulimit(_ limit: Rlimit) -> ContainerInspect.UlimitView {
        let name = limit.type.hasPrefix("RLIMIT_") ? String(limit.type.dropFirst(7)).lowercased() : limit.type
        func value(_ raw: UInt64) -> Int64 { raw == UInt64.max ? -1 : Int64(clamping: raw) }
        return .init(Name: name, Soft: value(limit.soft), Hard: value(limit.hard))
    }

    static func mounts(_ spec: Spec, volumesDirectory: String) -> [ContainerInspect.MountView] {
        (spec.mounts ?? []).compactMap { mount in
            let readOnly = (mount.options ?? []).contains("ro")
            if mount.type == "tmpfs", !["/dev", "/dev/shm"].contains(mount.destination) {
                return .init(Type: "tmpfs", Name: nil, Source: "", Destination: mount.destination, RW: !readOnly)
            }
            guard mount.type == "bind", let source = mount.source,
                !["/etc/hosts", "/etc/hostname", "/etc/resolv.conf"].contains(mount.destination)
            else { return nil }
            if source.hasPrefix(volumesDirectory + "/") && source.hasSuffix("/_data") {
                let name = String(source.dropFirst(volumesDirectory.count + 1).dropLast(6))
                return .init(Type: "volume", Name: name, Source: source, Destination: mount.destination, RW: !readOnly)
            }
            return .init(Type: "bind", Name: nil, Source: source, Destination: mount.destination, RW: !readOnly)
        }
    }
}

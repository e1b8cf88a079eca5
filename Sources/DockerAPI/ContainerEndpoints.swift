#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Engine
import ImageStore
import JSON
import LinuxSupport
import Networking
import NIOHTTP1

/// The body of `POST /containers/create`: docker's Config with HostConfig and NetworkingConfig.
/// Tolerant as docker is: unknown fields are ignored, absent ones take docker's defaults.
struct ContainerCreateBody: Decodable {
    struct PortBinding: Decodable {
        var HostIp: String?
        var HostPort: String?
    }
    struct RestartPolicyBody: Decodable {
        var Name: String?
        var MaximumRetryCount: Int?
    }
    struct HostConfigBody: Decodable {
        var Binds: [String]?
        var VolumesFrom: [String]?
        var PortBindings: [String: [PortBinding]?]?
        var PublishAllPorts: Bool?
        var RestartPolicy: RestartPolicyBody?
        var Memory: Int64?
        var NanoCpus: Int64?
        var PidsLimit: Int64?
        var CapAdd: [String]?
        var CapDrop: [String]?
        var Privileged: Bool?
        var ReadonlyRootfs: Bool?
        var Tmpfs: [String: String]?
        var AutoRemove: Bool?
        var NetworkMode: String?
        var Init: Bool?
        var Dns: [String]?
        var DnsSearch: [String]?
        var ExtraHosts: [String]?
        var SecurityOpt: [String]?
        var ShmSize: Int64?
        var GroupAdd: [String]?
        var Mounts: [MountBody]?
        var Ulimits: [UlimitBody]?
        var LogConfig: LogConfigBody?
    }
    /// One of HostConfig.Mounts: docker's `--mount` as JSON.
    struct MountBody: Decodable {
        struct TmpfsOptionsBody: Decodable {
            var SizeBytes: Int64?
            var Mode: Int?
        }
        struct VolumeOptionsBody: Decodable {
            var NoCopy: Bool?
            var Labels: [String: String]?
            var Subpath: String?
        }
        struct BindOptionsBody: Decodable {
            var Propagation: String?
        }
        var `Type`: String?
        var Source: String?
        var Target: String?
        var ReadOnly: Bool?
        var TmpfsOptions: TmpfsOptionsBody?
        var VolumeOptions: VolumeOptionsBody?
        var BindOptions: BindOptionsBody?
    }
    struct UlimitBody: Decodable {
        var Name: String?
        var Soft: Int64?
        var Hard: Int64?
    }
    struct LogConfigBody: Decodable {
        var `Type`: String?
        var Config: [String: String]?
    }
    struct EndpointSettingsBody: Decodable {
        var Aliases: [String]?
    }
    struct NetworkingConfigBody: Decodable {
        var EndpointsConfig: [String: EndpointSettingsBody?]?
    }
    var Hostname: String?
    var User: String?
    var Env: [String]?
    var Cmd: StringOrArray?
    var Entrypoint: StringOrArray?
    var Image: String?
    var WorkingDir: String?
    var Labels: [String: String]?
    var Tty: Bool?
    var OpenStdin: Bool?
    var StopSignal: String?
    var Volumes: [String: EmptyBody]?
    var HostConfig: HostConfigBody?
    var NetworkingConfig: NetworkingConfigBody?

    struct EmptyBody: Decodable {}
}

/// docker accepts Cmd and Entrypoint as a string (old clients) or an array.
struct StringOrArray: Decodable {
    var values: [String]

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            values = [text]
        } else {
            values = try container.decode([String].self)
        }
    }
}

extension ContainerCreateBody {
    /// The engine's options for this body, as `skiff run` would have them from its flags.
    func runOptions(name: String?) throws -> RunOptions {
        var options = RunOptions()
        options.name = name
        options.env = Env ?? []
        options.workdir = WorkingDir.flatMap { $0.isEmpty ? nil : $0 }
        options.user = User.flatMap { $0.isEmpty ? nil : $0 }
        options.hostname = Hostname.flatMap { $0.isEmpty ? nil : $0 }
        options.labels = Labels ?? [:]
        options.tty = Tty ?? false
        options.interactive = OpenStdin ?? false
        options.stopSignal = StopSignal.flatMap { $0.isEmpty ? nil : $0 }
        // Entrypoint ["sh", "-c"] with Cmd ["echo hi"]: the engine's entrypoint override is one
        // word, the rest of the entrypoint leads the arguments (CommandLineMerge drops the
        // image's Cmd whenever the entrypoint is overridden, as docker does).
        let cmd = Cmd?.values ?? []
        if let entrypoint = Entrypoint?.values {
            let words = entrypoint.filter { !$0.isEmpty }
            options.entrypoint = words.first ?? ""
            options.arguments = Array(words.dropFirst()) + cmd
        } else {
            options.arguments = cmd
        }
        options.volumes = (Volumes ?? [:]).keys.sorted()
        guard let host = HostConfig else { return options }
        // Config.Volumes names the image-style anonymous volumes; a bind, mount or tmpfs on the
        // same path replaces it (docker-py sends both for `volumes={name: {"bind": path}}`).
        let covered = Set(
            (host.Binds ?? []).map(Self.bindTarget) + (host.Mounts ?? []).compactMap(\.Target) + (host.Tmpfs ?? [:]).keys.map { $0 })
        options.volumes.removeAll { covered.contains($0) }
        options.volumes += host.Binds ?? []
        options.volumesFrom = host.VolumesFrom ?? []
        for (containerPort, bindings) in (host.PortBindings ?? [:]).sorted(by: { $0.key < $1.key }) {
            let slash = containerPort.firstIndex(of: "/")
            let port = slash.map { String(containerPort[..<$0]) } ?? containerPort
            let proto = slash.map { String(containerPort[containerPort.index(after: $0)...]) } ?? "tcp"
            for binding in bindings ?? [] {
                // -p's forms: IP:HOST:CONTAINER (HOST may be empty), HOST:CONTAINER, CONTAINER (a free host port).
                let ip = binding.HostIp ?? "", hostPort = binding.HostPort ?? ""
                let text = (ip.isEmpty ? "" : ip + ":") + (ip.isEmpty && hostPort.isEmpty ? "" : hostPort + ":") + port + "/" + proto
                options.ports += try PortMapping.parseAll(text)
            }
        }
        options.publishAll = host.PublishAllPorts ?? false
        if let policy = host.RestartPolicy, let name = policy.Name, !name.isEmpty {
            let count = policy.MaximumRetryCount ?? 0
            options.restart = try RestartPolicy(parsing: name == "on-failure" && count > 0 ? "on-failure:\(count)" : name)
        }
        if let memory = host.Memory, memory > 0 { options.memory = memory }
        if let nano = host.NanoCpus, nano > 0 { options.cpus = Double(nano) / 1e9 }
        if let pids = host.PidsLimit, pids > 0 { options.pidsLimit = pids }
        options.capAdd = host.CapAdd ?? []
        options.capDrop = host.CapDrop ?? []
        options.privileged = host.Privileged ?? false
        options.readOnly = host.ReadonlyRootfs ?? false
        options.tmpfs = (host.Tmpfs ?? [:]).sorted { $0.key < $1.key }.map { $0.value.isEmpty ? $0.key : "\($0.key):\($0.value)" }
        options.autoRemove = host.AutoRemove ?? false
        if let mode = host.NetworkMode, !mode.isEmpty, mode != "default" {
            options.network = RunOptions.NetworkMode(parsing: mode)
        }
        options.initProcess = host.Init ?? false
        options.dns = host.Dns ?? []
        options.dnsSearch = host.DnsSearch ?? []
        options.addHosts = host.ExtraHosts ?? []
        options.securityOpts = host.SecurityOpt ?? []
        if let size = host.ShmSize, size > 0 { options.shmSize = size }
        options.groupAdd = host.GroupAdd ?? []
        for mount in host.Mounts ?? [] {
            switch try MountOption.parse(try Self.mountText(mount)) {
            case .volume(let text): options.volumes.append(text)
            case .tmpfs(let text): options.tmpfs.append(text)
            }
        }
        for limit in host.Ulimits ?? [] {
            guard let name = limit.Name, !name.isEmpty, let soft = limit.Soft else {
                throw APIError.badRequest("each of HostConfig.Ulimits needs Name and Soft (and Hard)")
            }
            options.ulimits.append("\(name)=\(soft)" + (limit.Hard.map { ":\($0)" } ?? ""))
        }
        // docker's log drivers the engine has (json-file, local, none) with their options; the
        // others are refused with the reason (`LogConfig`'s own check, as for --log-driver).
        if let log = host.LogConfig {
            options.logConfig = try LogConfig(
                driver: log.Type.flatMap { $0.isEmpty ? nil : $0 },
                options: (log.Config ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })
        }
        // Aliases on the network of NetworkMode (docker's --network-alias); the other networks of
        // EndpointsConfig are joined after the create (`extraNetworks`).
        let networkName = options.network.name
        for (network, settings) in NetworkingConfig?.EndpointsConfig ?? [:] where network == networkName {
            options.networkAliases += settings?.Aliases ?? []
        }
        return options
    }

    /// The networks of EndpointsConfig beyond NetworkMode's, with their aliases (docker's CLI 28
    /// sends every `--network` of `docker run` there).
    func extraNetworks(besides primary: String) -> [(name: String, aliases: [String])] {
        (NetworkingConfig?.EndpointsConfig ?? [:]).filter { $0.key != primary && !($0.key == "default" && primary == "bridge") }.sorted {
            $0.key < $1.key
        }.map {
            ($0.key, $0.value?.Aliases ?? [])
        }
    }

    /// The container path of a `-v` text: SOURCE:TARGET[:OPTIONS] or TARGET alone.
    static func bindTarget(_ bind: String) -> String {
        let parts = bind.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        return parts.count >= 2 ? parts[1] : bind
    }

    /// One of HostConfig.Mounts as `--mount` text, for the CLI's parser and checks.
    static func mountText(_ mount: MountBody) throws(APIError) -> String {
        guard let target = mount.Target, !target.isEmpty else { throw .badRequest("each of HostConfig.Mounts needs a Target") }
        for field in [mount.Type ?? "", mount.Source ?? "", target] where field.contains(",") {
            throw .badRequest("invalid mount: \(field) holds a comma")
        }
        let type = mount.Type.flatMap { $0.isEmpty ? nil : $0 } ?? "volume"
        var fields = ["type=\(type)", "target=\(target)"]
        if let source = mount.Source, !source.isEmpty { fields.append("source=\(source)") }
        if mount.ReadOnly ?? false { fields.append("readonly") }
        if let size = mount.TmpfsOptions?.SizeBytes, size > 0 { fields.append("tmpfs-size=\(size)") }
        if let mode = mount.TmpfsOptions?.Mode, mode > 0 { fields.append("tmpfs-mode=" + String(mode, radix: 8)) }
        if mount.VolumeOptions?.NoCopy ?? false { throw .badRequest("invalid mount: VolumeOptions.NoCopy is not supported by skiff") }
        if let subpath = mount.VolumeOptions?.Subpath, !subpath.isEmpty {
            throw .badRequest("invalid mount: VolumeOptions.Subpath is not supported by skiff")
        }
        if let propagation = mount.BindOptions?.Propagation, !propagation.isEmpty {
            guard !propagation.contains(",") else { throw .badRequest("invalid mount: \(propagation) holds a comma") }
            fields.append("bind-propagation=\(propagation)")
        }
        return fields.joined(separator: ",")
    }
}

/// One container of `GET /containers/json`, docker's summary shape.
struct ContainerSummary: Encodable {
    struct Port: Encodable {
        var IP: String?
        var PrivatePort: Int
        var PublicPort: Int?
        var `Type`: String
    }
    struct HostConfigSummary: Encodable { var NetworkMode: String }
    struct NetworksSummary: Encodable { var Networks: [String: [String: String]] }
    var Id: String
    var Names: [String]
    var Image: String
    var ImageID: String
    var Command: String
    var Created: Int64
    var Ports: [Port]
    var Labels: [String: String]
    var State: String
    var Status: String
    var HostConfig: HostConfigSummary
    var NetworkSettings: NetworksSummary
    var Mounts: [String]
}

extension DockerService {
    func container(_ reference: String) throws -> EngineContainer {
        try engine.store.resolve(reference)
    }

    // MARK: - list

    /// docker's `filters`: `{"status":["running"]}` (or the older `{"status":{"running":true}}`).
    static func parseFilters(_ text: String?) throws -> [String: [String]] {
        guard let text, !text.isEmpty else { return [:] }
        let value: JSONValue
        do { value = try JSONValue.parse(Array(text.utf8)) } catch { throw APIError.badRequest("invalid filters: \(error)") }
        guard case .object(let members) = value else { throw APIError.badRequest("invalid filters: expected a JSON object") }
        var result: [String: [String]] = [:]
        for (key, entry) in members {
            switch entry {
            case .array(let items):
                result[key] = items.compactMap { if case .string(let s) = $0 { return s } else { return nil } }
            case .object(let items):
                result[key] = items.compactMap { if case .bool(true) = $0.value { return $0.key } else { return nil } }
            default:
                throw APIError.badRequest("invalid filters: \(key) must be a list of strings")
            }
        }
        return result
    }

    /// `GET /containers/json`: the engine's listing, as `skiff ps` has it (docker's filters,
    /// STATUS text with health), in docker's summary shape.
    func listContainers(_ call: Call) throws {
        let all = call.query.bool("all")
        let limit = try call.query.int("limit")
        let filters: ContainerListFilters
        do {
            filters = try ContainerListFilters(
                Self.parseFilters(call.query["filters"]).mapValues { values in
                    values.map { $0.hasPrefix("/") ? String($0.dropFirst()) : $0 }
                })
        } catch let error as EngineError {
            throw APIError.badRequest(error.description)
        }
        var summaries: [ContainerSummary] = []
        for item in engine.listContainers(
            all: all, filters: filters, last: limit.flatMap { $0 > 0 ? $0 : nil }, now: Timestamp.nowSeconds())
        {
            let record = item.record
            let live = item.live
            let ports = (live.isRunning ? record.networkSettings?.ports ?? [] : record.network?.ports ?? []).map {
                ContainerSummary.Port(
                    IP: $0.hostIP.isEmpty ? "0.0.0.0" : $0.hostIP, PrivatePort: Int($0.containerPort),
                    PublicPort: $0.hostPort == 0 ? nil : Int($0.hostPort), Type: $0.proto)
            }
            var networks: [String: [String: String]] = [:]
            for settings in live.isRunning ? record.allNetworkSettings : [] {
                networks[settings.network] = ["IPAddress": settings.ipAddress ?? "", "NetworkID": settings.networkID]
            }
            summaries.append(
                ContainerSummary(
                    Id: record.id, Names: ["/" + record.name], Image: record.image, ImageID: record.imageID,
                    Command: record.command.joined(separator: " "), Created: Int64(item.createdSeconds), Ports: ports,
                    Labels: record.labels ?? [:], State: item.state, Status: item.status,
                    HostConfig: .init(NetworkMode: record.network.map { $0.network ?? $0.mode } ?? "none"),
                    NetworkSettings: .init(Networks: networks), Mounts: []))
        }
        call.responder.sendJSON(summaries)
    }

    // MARK: - create, inspect, remove

    struct CreateResponse: Encodable {
        var Id: String
        var Warnings: [String]
    }

    func createContainer(_ call: Call) throws {
        let body = try APIJSON.decode(ContainerCreateBody.self, from: call.request.body)
        guard let imageName = body.Image, !imageName.isEmpty else { throw APIError.badRequest("Config.Image is required") }
        let name = call.query["name"].flatMap { $0.isEmpty ? nil : ($0.hasPrefix("/") ? String($0.dropFirst()) : $0) }
        let options = try body.runOptions(name: name)
        let image: Image
        do {
            image = try engine.images.withSharedLock { try engine.images.image(imageName, defaultRegistry: defaultRegistry) }
        } catch StoreError.imageNotFound {
            throw APIError.notFound("No such image: \(imageName)")
        }
        let record = try engine.create(image: image, imageName: imageName, options: options)
        do {
            for (network, aliases) in body.extraNetworks(besides: options.network.name) {
                try engine.connectNetwork(network, container: record.id, aliases: aliases)
            }
        } catch {
            try? engine.remove(record.id, force: true, volumes: true)  // nothing half-made
            throw error
        }
        call.responder.sendJSON(CreateResponse(Id: record.id, Warnings: []), status: .created)
    }

    func inspectContainer(_ call: Call, _ reference: String) throws {
        let record = try container(reference)
        call.responder.sendJSON(
            dockerInspectDocument(engine.inspect(record), configuredNetworks: Self.configuredNetworks(record, networks: engine.networks)))
    }

    func removeContainer(_ call: Call, _ reference: String) throws {
        let record = try container(reference)
        let force = call.query.bool("force")
        if !force, engine.liveStatus(record).isRunning {
            throw APIError.conflict(
                "cannot remove container \"/\(record.name)\": container is running: stop the container before removing or force remove")
        }
        try engine.remove(record.id, force: force, volumes: call.query.bool("v"))
        call.responder.send(status: .noContent, body: [])
    }

    // MARK: - start, stop, restart, kill

    func startContainer(_ call: Call, _ reference: String) throws {
        let record = try container(reference)
        if engine.liveStatus(record).isRunning {
            call.responder.send(status: .notModified, body: [])
            return
        }
        let pending = pendingAttachments.take(id: record.id)
        let handle: Engine.StartHandle
        do {
            handle = try engine.start(record.id, attach: false, streams: pending.isEmpty ? nil : AttachRequest(consoleSize: nil))
        } catch {
            for attachment in pending { attachment.deliver(.failed) }
            throw error
        }
        pending.first?.deliver(.started(handle))
        for other in pending.dropFirst() { other.deliver(.started(nil)) }
        exitCodes.withLock { _ = $0.removeValue(forKey: record.id) }
        // The monitor reports the exit on its status pipe before an --rm container goes.
        let id = record.id
        DispatchQueue.global().async { [self] in
            if let code = handle.follow() { exitCodes.withLock { $0[id] = code } }
        }
        call.responder.send(status: .noContent, body: [])
    }

    func stopContainer(_ call: Call, _ reference: String) throws {
        let record = try container(reference)
        if !engine.liveStatus(record).isRunning && !engine.isRestarting(record) {
            call.responder.send(status: .notModified, body: [])
            return
        }
        let timeout = try call.query.int("t") ?? call.query.int("timeout") ?? 10
        try engine.stop(record.id, timeout: Double(max(timeout, 0)))
        call.responder.send(status: .noContent, body: [])
    }

    func restartContainer(_ call: Call, _ reference: String) throws {
        let record = try container(reference)
        let timeout = try call.query.int("t") ?? call.query.int("timeout") ?? 10
        try engine.restart(record.id, timeout: Double(max(timeout, 0)))
        call.responder.send(status: .noContent, body: [])
    }

    func killContainer(_ call: Call, _ reference: String) throws {
        let record = try container(reference)
        let name = call.query["signal"] ?? "SIGKILL"
        guard let signal = try? SignalTable.number(name.isEmpty ? "SIGKILL" : name) else {
            throw APIError.badRequest("invalid signal: \(name)")
        }
        guard engine.liveStatus(record).isRunning else {
            throw APIError.conflict("cannot kill container: \(record.id): container \(record.id) is not running")
        }
        try engine.kill(record.id, signal: signal)
        call.responder.send(status: .noContent, body: [])
    }

    // MARK: - wait

    struct WaitResponse: Encodable {
        struct WaitError: Encodable { var Message: String }
        var StatusCode: Int
        var Error: WaitError?
    }

    /// `POST /containers/{id}/wait?condition=not-running|next-exit|removed`: the head goes out at
    /// once (docker's client waits for it before it starts the container), the body at the exit.
    func waitContainer(_ call: Call, _ reference: String) throws {
        let record = try container(reference)
        let condition = call.query["condition"].flatMap { $0.isEmpty ? nil : $0 } ?? "not-running"
        guard ["not-running", "next-exit", "removed"].contains(condition) else {
            throw APIError.badRequest("invalid condition: \"\(condition)\": use not-running, next-exit or removed")
        }
        call.responder.startStream(contentType: "application/json")
        let code = waitForCondition(record, condition: condition, responder: call.responder)
        guard let code else { return call.responder.finish() }
        var bytes = (try? APIJSON.encode(WaitResponse(StatusCode: Int(code), Error: nil))) ?? []
        bytes.append(UInt8(ascii: "\n"))
        call.responder.write(bytes)
        call.responder.finish()
    }

    /// The exit code once `condition` holds; nil when the client went away first.
    func waitForCondition(_ record: EngineContainer, condition: String, responder: Responder) -> Int32? {
        let initialFinish = record.finishedAt
        var lastCode = record.exitCode ?? 0
        var sawRunning = engine.liveStatus(record).isRunning
        while !responder.isClosed {
            guard FileIO.exists(engine.store.recordPath(for: record.id)), let current = try? engine.store.load(id: record.id) else {
                return exitCodes.withLock { $0[record.id] } ?? lastCode  // removed
            }
            let live = engine.liveStatus(current)
            if let code = live.exitCode ?? current.exitCode { lastCode = code }
            if live.isRunning || engine.isRestarting(current) {
                sawRunning = true
            } else {
                switch condition {
                case "not-running":
                    return lastCode
                case "next-exit":
                    if sawRunning || current.finishedAt != initialFinish { return lastCode }
                default:  // removed: only once the record is gone (after `rm`, or an --rm container's exit)
                    break
                }
            }
            usleep(20_000)
        }
        return nil
    }

    // MARK: - resize

    func resizeContainer(_ call: Call, _ reference: String) throws {
        let record = try container(reference)
        guard let rows = try call.query.int("h"), let columns = try call.query.int("w"), rows >= 0, columns >= 0,
            rows <= Int(UInt16.max), columns <= Int(UInt16.max)
        else {
            throw APIError.badRequest("resize needs h and w: the terminal's rows and columns")
        }
        guard engine.liveStatus(record).isRunning else {
            throw APIError.conflict("cannot resize container \(record.id): it is not running")
        }
        let socket = try AttachSocket.connect(directory: engine.store.directory(for: record.id))
        defer { close(socket) }
        try FileIO.writeAll(fd: socket, AttachFrame.resize(rows: UInt16(rows), columns: UInt16(columns)).encoded(), what: "attach socket")
        call.responder.send(status: .ok, body: [])
    }
}

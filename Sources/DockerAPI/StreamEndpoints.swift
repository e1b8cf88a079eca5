#if canImport(Glibc)
import Glibc
#endif
import Engine
import JSON
import LinuxSupport
import NIOHTTP1
import Networking

/// docker's stream framing without a TTY: a header of the stream (1 stdout, 2 stderr), three
/// zero bytes and the payload's length (32-bit big-endian), then the payload.
enum StreamFrame {
    static func encode(stream: UInt8, _ payload: [UInt8]) -> [UInt8] {
        let count = UInt32(payload.count)
        return [stream, 0, 0, 0, UInt8(count >> 24), UInt8((count >> 16) & 0xff), UInt8((count >> 8) & 0xff), UInt8(count & 0xff)] + payload
    }

    static let multiplexed = "application/vnd.docker.multiplexed-stream"
    static let raw = "application/vnd.docker.raw-stream"
}

/// `GET /containers/{id}/json`: skiff's inspect document with the fields docker's clients expect
/// beside it (Platform, Driver, ResolvConfPath).
/// `configuredNetworks`: the endpoints of a container that is not running (docker lists the
/// networks it will join, without addresses; compose reads their Aliases to decide whether to
/// connect it again).
func dockerInspectDocument(_ inspect: ContainerInspect, configuredNetworks: [String: JSONValue] = [:]) -> JSONValue {
    guard case .object(var members) = (try? JSONEncoding.encodeValue(inspect)) ?? .object([]) else { return .object([]) }
    if let index = members.firstIndex(where: { $0.key == "NetworkSettings" }), case .object(var settings) = members[index].value,
        let networksIndex = settings.firstIndex(where: { $0.key == "Networks" }),
        case .object(let networks) = settings[networksIndex].value,
        networks.isEmpty, !configuredNetworks.isEmpty
    {
        settings[networksIndex].value = .object(configuredNetworks.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
        members[index].value = .object(settings)
    }
    members.append(("Platform", .string("linux")))
    members.append(("Driver", .string("overlay")))
    members.append(("ResolvConfPath", .string("")))
    // docker's log driver (compose shows the logs of json-file containers only).
    if let index = members.firstIndex(where: { $0.key == "HostConfig" }), case .object(var host) = members[index].value,
        !host.contains(where: { $0.key == "LogConfig" })
    {
        host.append(("LogConfig", .object([("Type", .string("json-file")), ("Config", .object([]))])))
        members[index].value = .object(host)
    }
    return .object(members)
}

extension Responder {
    func sendJSON(_ value: JSONValue, status: HTTPResponseStatus = .ok) {
        send(status: status, body: value.serialized())
    }
}

extension DockerService {
    /// The endpoints of the networks a container is configured for, as docker shows them before
    /// it runs: no address, the aliases and (on a user network) the short ID.
    static func configuredNetworks(_ record: EngineContainer, networks: NetworkStore) -> [String: JSONValue] {
        var result: [String: JSONValue] = [:]
        for network in record.network?.allNetworks ?? [] {
            let userNetwork = NetworkPeers.resolvesNames(network.name)
            let aliases: JSONValue =
                userNetwork ? .array((network.aliases + [String(record.id.prefix(12))]).map { .string($0) }) : .null
            result[network.name] = .object([
                ("NetworkID", .string((try? networks.definition(network.name))?.id ?? "")), ("IPAddress", .string("")),
                ("IPPrefixLen", .number(JSONNumber(0))), ("Gateway", .string("")), ("MacAddress", .string("")), ("Aliases", aliases),
            ])
        }
        return result
    }

    // MARK: - logs

    func containerLogs(_ call: Call, _ reference: String) throws {
        let record = try container(reference)
        if let config = record.logConfig, !config.readable {
            throw APIError.notImplemented("configured logging driver \"\(config.driver.rawValue)\" does not support reading")
        }
        let query = call.query
        let follow = query.bool("follow")
        let timestamps = query.bool("timestamps")
        let stdout = query.bool("stdout")
        let stderr = query.bool("stderr")
        guard stdout || stderr else {
            throw APIError.badRequest("you must choose at least one stream: stdout=1 or stderr=1")
        }
        var count: Int?
        if let tail = query["tail"], !tail.isEmpty, tail != "all" {
            guard let value = Int(tail) else { throw APIError.badRequest("invalid tail: \(tail) is not a number or 'all'") }
            if value >= 0 { count = value }
        }
        let now = Timestamp.nowSeconds()
        func time(_ key: String) -> String? {
            guard let text = query[key], !text.isEmpty, text != "0" else { return nil }
            return text
        }
        let window = try LogTimeFilter(since: time("since"), until: time("until"), now: now)
        let tty = record.hasTTY
        call.responder.startStream(contentType: tty ? StreamFrame.raw : StreamFrame.multiplexed)
        let path = engine.store.logPath(for: record.id)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return call.responder.finish() }
        defer { close(fd) }
        let reader = ContainerLogReader(fd: fd, path: path)
        func send(_ entries: [LogEntry]) -> Bool {
            var bytes: [UInt8] = []
            for entry in entries where window.isEmpty || window.includes(entry.time) {
                let isError = entry.stream == "stderr"
                if isError ? !stderr : !stdout { continue }
                let text = Array(((timestamps ? entry.time + " " : "") + entry.log).utf8)
                bytes += tty ? text : StreamFrame.encode(stream: isError ? 2 : 1, text)
            }
            return call.responder.write(bytes)
        }
        var entries = ContainerLogFiles.rotatedEntries(path) + reader.readAvailable()
        if let count { entries = Array(entries.suffix(count)) }
        guard send(entries) else { return }
        if follow, window.until.map({ $0 > now }) ?? true {
            while !call.responder.isClosed {
                let current = try? engine.store.load(id: record.id)
                let running = current.map { engine.liveStatus($0).isRunning || engine.isRestarting($0) } ?? false
                guard send(reader.readAvailable()) else { return }
                if !running { break }
                usleep(50_000)
            }
            _ = send(reader.readAvailable())
        }
        call.responder.finish()
    }

    // MARK: - attach

    /// `POST /containers/{id}/attach`: the connection is hijacked and relays the monitor's attach
    /// socket: output as docker's frames (raw with a TTY), input as the program's stdin. Before the
    /// container starts (`docker run` attaches first) it waits for the start, which hands it the
    /// monitor connection made before the program runs, so no output is missed.
    func attachContainer(_ call: Call, _ reference: String) throws {
        let record = try container(reference)
        let query = call.query
        let wantsStdin = query.bool("stdin") && record.isInteractive
        let wantsStdout = query.bool("stdout")
        let wantsStderr = query.bool("stderr")
        let tty = record.hasTTY
        var pending: PendingAttachment?
        if !engine.liveStatus(record).isRunning {
            let attachment = PendingAttachment()
            pendingAttachments.add(attachment, id: record.id)
            pending = attachment
        }
        let connection = call.responder.hijack(request: call.request, contentType: tty ? StreamFrame.raw : StreamFrame.multiplexed)
        defer { connection.close() }
        var handle: Engine.StartHandle?
        var socket: Int32 = -1
        if let pending {
            // Until the start comes (or the client goes away).
            waiting: while !connection.isClosed {
                switch pending.outcome {
                case .waiting:
                    // Started some other way (`skiff start`): connect to the monitor directly. A
                    // start of ours that took this attachment delivers its handle instead.
                    if engine.liveStatus((try? engine.store.load(id: record.id)) ?? record).isRunning,
                        pendingAttachments.remove(pending, id: record.id)
                    {
                        break waiting
                    }
                    usleep(5_000)
                case .started(let given):
                    handle = given
                    break waiting
                case .failed:
                    return
                }
            }
            pendingAttachments.remove(pending, id: record.id)
            if connection.isClosed { return }
        }
        if let handle {
            socket = handle.attachFD
        } else {
            guard let connected = try? AttachSocket.connect(directory: engine.store.directory(for: record.id)) else { return }
            socket = connected
        }
        defer { if handle == nil { close(socket) } }
        relay(socket: socket, connection: connection, tty: tty, stdin: wantsStdin, stdout: wantsStdout, stderr: wantsStderr)
        withExtendedLifetime(handle) {}
    }

    /// Copies the monitor's frames to the client and the client's bytes to the program's stdin
    /// until the program exits, the monitor goes, or the client does.
    func relay(socket: Int32, connection: RawConnection, tty: Bool, stdin: Bool, stdout: Bool, stderr: Bool) {
        var decoder = AttachFrameDecoder()
        var buffer = [UInt8](repeating: 0, count: 32768)
        var stdinOpen = stdin
        while !connection.isClosed {
            var pfd = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, 20)
            if ready < 0 && errno != EINTR { return }
            if ready > 0 {
                let n = read(socket, &buffer, buffer.count)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return }
                decoder.append(buffer[0..<n])
                do {
                    while let frame = try decoder.next() {
                        switch frame {
                        case .stdout(let bytes) where stdout:
                            connection.write(tty ? bytes : StreamFrame.encode(stream: 1, bytes))
                        case .stderr(let bytes) where stderr:
                            connection.write(tty ? bytes : StreamFrame.encode(stream: 2, bytes))
                        case .exit:
                            return
                        default:
                            break
                        }
                    }
                } catch {
                    return
                }
            }
            if stdinOpen {
                guard let input = connection.read(timeoutMS: 0) else {
                    stdinOpen = false
                    try? FileIO.writeAll(fd: socket, AttachFrame.closeStdin.encoded(), what: "attach socket")
                    continue
                }
                if !input.isEmpty {
                    try? FileIO.writeAll(fd: socket, AttachFrame.stdin(input).encoded(), what: "attach socket")
                }
            }
        }
    }
}

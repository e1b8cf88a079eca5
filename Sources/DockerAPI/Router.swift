import NIOHTTP1

/// A request's query string, percent-decoded; docker's booleans are "1"/"true".
struct Query: Sendable {
    private var values: [String: [String]] = [:]

    init(_ text: Substring) {
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = Self.decode(parts[0])
            values[key, default: []].append(parts.count > 1 ? Self.decode(parts[1]) : "")
        }
    }

    subscript(_ key: String) -> String? { values[key]?.last }

    /// Every value of a repeated key (`names=a&names=b`).
    func all(_ key: String) -> [String] { values[key] ?? [] }

    func bool(_ key: String, default fallback: Bool = false) -> Bool {
        guard let value = self[key] else { return fallback }
        return ["1", "true", "True", "yes"].contains(value)
    }

    func int(_ key: String) throws(APIError) -> Int? {
        guard let value = self[key], !value.isEmpty else { return nil }
        guard let number = Int(value) else { throw .badRequest("invalid value for \(key): \(value) is not a number") }
        return number
    }

    static func decode(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        var index = text.utf8.startIndex
        let utf8 = text.utf8
        while index < utf8.endIndex {
            let byte = utf8[index]
            if byte == UInt8(ascii: "+") {
                bytes.append(UInt8(ascii: " "))
            } else if byte == UInt8(ascii: "%"), let high = utf8.index(index, offsetBy: 1, limitedBy: utf8.endIndex),
                let low = utf8.index(index, offsetBy: 2, limitedBy: utf8.endIndex), low < utf8.endIndex,
                let value = UInt8(String(decoding: [utf8[high], utf8[low]], as: UTF8.self), radix: 16)
            {
                bytes.append(value)
                index = low
            } else {
                bytes.append(byte)
            }
            index = utf8.index(after: index)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Routes a request to its endpoint: strips the version prefix, matches method and path.
struct Router: Sendable {
    let service: DockerService

    init(service: DockerService) { self.service = service }

    func handle(_ request: APIRequest, responder: Responder) {
        do {
            if request.bodyTooLarge {
                let limit = HTTPConnectionHandler.bodyLimit(method: request.method, uri: request.uri)
                throw APIError.badRequest("request body larger than \(limit) bytes")
            }
            let pathAndQuery = request.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
            let rawPath = Query.decode(pathAndQuery[0])
            let query = Query(pathAndQuery.count > 1 ? pathAndQuery[1] : "")
            let (version, path) = try APIVersion.split(rawPath)
            let call = Call(request: request, path: path, version: version ?? APIVersion.current, query: query, responder: responder)
            try route(call)
        } catch {
            responder.send(APIError.from(error))
        }
    }

    private func route(_ call: Call) throws {
        let parts = call.path.split(separator: "/").map(String.init)
        let method = call.request.method
        switch (method, parts.first ?? "") {
        case (.GET, "_ping"), (.HEAD, "_ping"):
            return service.ping(call)
        case (.GET, "version"):
            return service.version(call)
        case (.GET, "info"):
            return service.info(call)
        case (_, "containers"):
            return try routeContainers(call, parts: Array(parts.dropFirst()))
        case (_, "images"):
            return try routeImages(call, parts: Array(parts.dropFirst()))
        case (_, "exec"):
            return try routeExec(call, parts: Array(parts.dropFirst()))
        case (_, "networks"):
            return try routeNetworks(call, parts: Array(parts.dropFirst()))
        case (_, "volumes"):
            return try routeVolumes(call, parts: Array(parts.dropFirst()))
        case (_, "swarm"), (_, "services"), (_, "nodes"), (_, "tasks"), (_, "secrets"), (_, "configs"):
            throw APIError(.serviceUnavailable, "skiff does not support swarm mode (\(call.path)): this node is not a swarm manager")
        case (_, "plugins"):
            throw APIError.notImplemented("skiff does not support plugins (\(call.path))")
        case (.GET, "events"):
            return try service.streamEvents(call)
        case (.POST, "auth"):
            return try service.authenticate(call)
        case (.GET, "system") where parts == ["system", "df"]:
            return try service.diskUsage(call)
        case (.POST, "build") where parts == ["build"]:
            return try service.build(call)
        case (_, "build"), (_, "events"), (_, "system"), (_, "auth"), (_, "commit"),
            (_, "session"), (_, "distribution"), (_, "grpc"):
            throw APIError.notImplemented("\(method) \(call.path) is not implemented by skiff's Docker API yet (see docs/docker-api.md)")
        default:
            throw APIError.notFound("page not found")
        }
    }

    private func routeContainers(_ call: Call, parts: [String]) throws {
        let method = call.request.method
        switch (method, parts.count) {
        case (.GET, 1) where parts[0] == "json":
            return try service.listContainers(call)
        case (.POST, 1) where parts[0] == "create":
            return try service.createContainer(call)
        case (.POST, 1) where parts[0] == "prune":
            return try service.pruneContainers(call)
        case (.DELETE, 1):
            return try service.removeContainer(call, parts[0])
        case (_, 2):
            let id = parts[0]
            switch (method, parts[1]) {
            case (.GET, "json"): return try service.inspectContainer(call, id)
            case (.POST, "start"): return try service.startContainer(call, id)
            case (.POST, "stop"): return try service.stopContainer(call, id)
            case (.POST, "restart"): return try service.restartContainer(call, id)
            case (.POST, "kill"): return try service.killContainer(call, id)
            case (.POST, "wait"): return try service.waitContainer(call, id)
            case (.GET, "logs"): return try service.containerLogs(call, id)
            case (.POST, "attach"): return try service.attachContainer(call, id)
            case (.POST, "resize"): return try service.resizeContainer(call, id)
            case (.POST, "exec"): return try service.createExec(call, id)
            case (.GET, "top"): return try service.topContainer(call, id)
            case (.GET, "stats"): return try service.containerStats(call, id)
            case (.GET, "archive"), (.HEAD, "archive"): return try service.getArchive(call, id)
            case (.PUT, "archive"): return try service.putArchive(call, id)
            case (.POST, "rename"): return try service.renameContainer(call, id)
            case (.POST, "pause"): return try service.pauseContainer(call, id, pause: true)
            case (.POST, "unpause"): return try service.pauseContainer(call, id, pause: false)
            case (.POST, "update"): return try service.updateContainer(call, id)
            default:
                throw APIError.notImplemented(
                    "\(method) /containers/{id}/\(parts[1]) is not implemented by skiff's Docker API yet (see docs/docker-api.md)")
            }
        default:
            throw APIError.notFound("page not found")
        }
    }

    private func routeNetworks(_ call: Call, parts: [String]) throws {
        switch (call.request.method, parts.count) {
        case (.GET, 0): return try service.listNetworks(call)
        case (.POST, 1) where parts[0] == "create": return try service.createNetwork(call)
        case (.POST, 1) where parts[0] == "prune": return try service.pruneNetworks(call)
        case (.GET, 1): return try service.inspectNetwork(call, parts[0])
        case (.DELETE, 1): return try service.removeNetwork(call, parts[0])
        case (.POST, 2) where parts[1] == "connect": return try service.connectNetwork(call, parts[0])
        case (.POST, 2) where parts[1] == "disconnect": return try service.disconnectNetwork(call, parts[0])
        default: throw APIError.notFound("page not found")
        }
    }

    private func routeVolumes(_ call: Call, parts: [String]) throws {
        switch (call.request.method, parts.count) {
        case (.GET, 0): return try service.listVolumes(call)
        case (.POST, 1) where parts[0] == "create": return try service.createVolume(call)
        case (.POST, 1) where parts[0] == "prune": return try service.pruneVolumes(call)
        case (.GET, 1): return try service.inspectVolume(call, parts[0])
        case (.DELETE, 1): return try service.removeVolume(call, parts[0])
        default: throw APIError.notFound("page not found")
        }
    }

    private func routeExec(_ call: Call, parts: [String]) throws {
        guard parts.count == 2 else { throw APIError.notFound("page not found") }
        switch (call.request.method, parts[1]) {
        case (.POST, "start"): return try service.startExec(call, parts[0])
        case (.GET, "json"): return try service.inspectExec(call, parts[0])
        case (.POST, "resize"): return try service.resizeExec(call, parts[0])
        default: throw APIError.notFound("page not found")
        }
    }

    private func routeImages(_ call: Call, parts: [String]) throws {
        let method = call.request.method
        if method == .GET, parts == ["json"] { return try service.listImages(call) }
        if method == .POST, parts == ["create"] { return try service.pullImage(call) }
        if method == .POST, parts == ["prune"] { return try service.pruneImages(call) }
        if method == .POST, parts == ["load"] { return try service.loadImages(call) }
        if method == .GET, parts == ["get"] {
            return try service.saveImages(call, names: call.query.all("names"))
        }
        guard !parts.isEmpty else { throw APIError.notFound("page not found") }
        // Image names hold slashes: /images/localhost:5000/app:1/json.
        switch (method, parts.last!) {
        case (.GET, "json") where parts.count > 1:
            return try service.inspectImage(call, parts.dropLast().joined(separator: "/"))
        case (.POST, "tag") where parts.count > 1:
            return try service.tagImage(call, parts.dropLast().joined(separator: "/"))
        case (.GET, "history") where parts.count > 1:
            return try service.imageHistory(call, parts.dropLast().joined(separator: "/"))
        case (.GET, "get") where parts.count > 1:
            return try service.saveImages(call, names: [parts.dropLast().joined(separator: "/")])
        case (.POST, "push") where parts.count > 1:
            return try service.pushImage(call, parts.dropLast().joined(separator: "/"))
        case (.DELETE, _):
            return try service.removeImage(call, parts.joined(separator: "/"))
        default:
            throw APIError.notImplemented(
                "\(method) /images/\(parts.joined(separator: "/")) is not implemented by skiff's Docker API yet (see docs/docker-api.md)")
        }
    }
}

/// One request as an endpoint sees it.
struct Call: Sendable {
    var request: APIRequest
    var path: String
    var version: String
    var query: Query
    var responder: Responder
}

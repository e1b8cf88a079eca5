#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Engine
import ImageStore
import JSON
import LinuxSupport
import Networking
import OCISpec
import Registry
import Synchronization

/// docker's AuthConfig, as the body of `POST /auth` and (base64url JSON) the X-Registry-Auth header.
struct AuthConfigBody: Decodable {
    var username: String?
    var password: String?
    var auth: String?
    var serveraddress: String?
    var identitytoken: String?
    var registrytoken: String?

    /// The credentials it carries, if any (`auth` is base64 of user:password).
    var credentials: Credentials? {
        if let username, !username.isEmpty, let password, !password.isEmpty {
            return Credentials(username: username, password: password)
        }
        if let auth, !auth.isEmpty, let decoded = Base64.decode(auth) {
            let text = String(decoding: decoded, as: UTF8.self)
            if let colon = text.firstIndex(of: ":") {
                return Credentials(username: String(text[..<colon]), password: String(text[text.index(after: colon)...]))
            }
        }
        return nil
    }

    /// The X-Registry-Auth header: absent, empty or `{}` carries nothing; anything unreadable is a 400.
    static func fromHeader(_ value: String?) throws(APIError) -> AuthConfigBody? {
        guard let value, !value.isEmpty else { return nil }
        guard let bytes = Base64.decode(value) else { throw .badRequest("invalid X-Registry-Auth header: not base64") }
        do {
            return try APIJSON.decode(AuthConfigBody.self, from: bytes)
        } catch {
            throw .badRequest("invalid X-Registry-Auth header: \(error)")
        }
    }

    /// Docker Hub's aliases and `https://host/` to the registry host skiff keys credentials by.
    static func registryHost(_ server: String) -> String {
        var host = server
        for prefix in ["https://", "http://"] where host.hasPrefix(prefix) { host = String(host.dropFirst(prefix.count)) }
        if let slash = host.firstIndex(of: "/") { host = String(host[..<slash]) }
        if host.isEmpty || host == "index.docker.io" || host == "registry-1.docker.io" { host = "docker.io" }
        return host
    }
}

/// One entry of `GET /images/{name}/history`, newest first.
struct HistoryEntry: Encodable, Equatable {
    var Id: String
    var Created: Int64
    var CreatedBy: String
    var Tags: [String]?
    var Size: Int64
    var Comment: String

    /// The config's history with the layers' sizes (a non-empty entry takes the next layer);
    /// the newest entry carries the image's ID and names, the others docker's `<missing>`.
    static func entries(history: [History], layerSizes: [Int64], id: String, tags: [String]) -> [HistoryEntry] {
        var layer = 0
        var result: [HistoryEntry] = []
        for item in history {
            var size: Int64 = 0
            if !(item.emptyLayer ?? false) {
                size = layer < layerSizes.count ? layerSizes[layer] : 0
                layer += 1
            }
            result.append(
                HistoryEntry(
                    Id: "<missing>", Created: Int64(item.created.flatMap(Timestamp.seconds) ?? 0), CreatedBy: item.createdBy ?? "",
                    Tags: nil, Size: size, Comment: item.comment ?? ""))
        }
        if result.isEmpty {
            result = layerSizes.map { HistoryEntry(Id: "<missing>", Created: 0, CreatedBy: "", Tags: nil, Size: $0, Comment: "") }
        }
        result.reverse()
        if !result.isEmpty {
            result[0].Id = id
            result[0].Tags = tags
        }
        return result
    }
}

extension DockerService {
    /// The registry options of a pull or push: the service's, with X-Registry-Auth's credentials.
    func registryOptions(for call: Call) throws -> RegistryOptions {
        var options = registryOptions
        if let credentials = try AuthConfigBody.fromHeader(call.request.headers.first(name: "X-Registry-Auth"))?.credentials {
            options.explicitCredentials = credentials
        }
        return options
    }

    // MARK: - history, prune

    func imageHistory(_ call: Call, _ name: String) throws {
        let image = try lookUpImage(name)
        let entries = HistoryEntry.entries(
            history: image.config.history ?? [], layerSizes: image.manifest.layers.map(\.size), id: image.id.description,
            tags: image.names.map(Self.familiar))
        call.responder.sendJSON(entries)
    }

    struct ImagePruneResponse: Encodable {
        struct Deleted: Encodable {
            var Untagged: String?
            var Deleted: String?
        }
        var ImagesDeleted: [Deleted]
        var SpaceReclaimed: Int64
    }

    /// `dangling=false` (`docker image prune -a`): every image no container uses; otherwise only
    /// unreferenced content (skiff keeps no untagged images).
    func pruneImages(_ call: Call) throws {
        let filters = try Self.parseFilters(call.query["filters"])
        if let unknown = filters.keys.first(where: { $0 != "dangling" }) {
            throw APIError.badRequest("invalid filter '\(unknown)': skiff prunes images by dangling only")
        }
        var all = false
        if let value = filters["dangling"]?.last {
            guard let dangling = LabelFilter.bool(value) else { throw APIError.badRequest("invalid filter 'dangling=\(value)'") }
            all = !dangling
        }
        let report = try engine.images.prune(all: all)
        let deleted =
            report.removedNames.map { ImagePruneResponse.Deleted(Untagged: Self.familiar($0), Deleted: nil) }
            + report.removedBlobs.map { ImagePruneResponse.Deleted(Untagged: nil, Deleted: $0.description) }
        call.responder.sendJSON(ImagePruneResponse(ImagesDeleted: deleted, SpaceReclaimed: report.reclaimedBytes))
    }

    // MARK: - get (save), load

    /// A file under the store for a save or load in progress, removed by the caller.
    func scratchFile(_ what: String) throws -> String {
        let directory = engine.store.root + "/tmp"
        try FileIO.makeDirectories(directory, mode: 0o700)
        return directory + "/api-\(what)-\(try ContainerStore.newID().prefix(16)).tar"
    }

    /// `GET /images/{name}/get` and `GET /images/get?names=...`: `ImageStore.save`'s archive
    /// (docker's and OCI's layout at once), streamed.
    func saveImages(_ call: Call, names: [String]) throws {
        guard !names.isEmpty else { throw APIError.badRequest("names is required: the images to save") }
        for name in names { _ = try lookUpImage(name) }
        let path = try scratchFile("save")
        defer { unlink(path) }
        try engine.images.save(names, to: path, defaultRegistry: defaultRegistry)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw APIError.internalError("cannot read the saved archive \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        call.responder.startStream(contentType: "application/x-tar")
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            if !call.responder.write(Array(buffer[0..<n])) { break }
        }
        call.responder.finish()
    }

    /// `POST /images/load`: the body is a docker-save or OCI archive; docker's JSON lines answer.
    func loadImages(_ call: Call) throws {
        let path = try scratchFile("load")
        defer { unlink(path) }
        try FileIO.writeAtomically(path, call.request.body, mode: 0o600)
        struct Line: Encodable {
            struct ErrorDetail: Encodable { var message: String }
            var stream: String?
            var error: String?
            var errorDetail: ErrorDetail?
        }
        let lines: [Line]
        do {
            let names = try engine.images.load(from: path)
            lines = names.map { Line(stream: "Loaded image: \(Self.familiar($0))\n") }
        } catch {
            // docker answers a bad archive in the stream of a 200; skiff refuses it before any output.
            throw APIError.badRequest("cannot load the archive: \(error)")
        }
        var bytes: [UInt8] = []
        for line in lines {
            bytes += (try? APIJSON.encode(line)) ?? []
            bytes.append(UInt8(ascii: "\n"))
        }
        call.responder.send(status: .ok, body: bytes)
    }

    // MARK: - push

    /// `POST /images/{name}/push?tag=`: `ImagePusher` with docker's JSON progress lines.
    func pushImage(_ call: Call, _ name: String) throws {
        var source = name
        if let tag = call.query["tag"], !tag.isEmpty { source += ":" + tag }
        _ = try lookUpImage(source)
        let target: ImageReference
        do {
            target = try ImageReference(parsing: source, defaultRegistry: defaultRegistry)
        } catch {
            throw APIError.badRequest("invalid reference format: \(source): \(error)")
        }
        guard target.digest == nil else { throw APIError.badRequest("push to a tag, not a digest: \(source)") }
        let options = try registryOptions(for: call)
        let responder = call.responder
        responder.startStream(contentType: "application/json")
        let progress = PullProgress(responder: responder, pushing: true)
        progress.send(status: "The push refers to repository [\(target.familiarName)]", id: nil)
        let outcome = Mutex<Result<Digest, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        let pusher = ImagePusher(store: engine.images, options: options, progress: progress)
        Task {
            do {
                let digest = try await pusher.push(source, as: target)
                outcome.withLock { $0 = .success(digest) }
            } catch {
                outcome.withLock { $0 = .failure(error) }
            }
            done.signal()
        }
        done.wait()
        switch outcome.withLock({ $0 }) {
        case .success(let digest):
            progress.send(status: "\(target.tag ?? "latest"): digest: \(digest) size: 0", id: nil)
        case .failure(let error):
            progress.sendError("\(error)")
        case nil:
            progress.sendError("the push ended without a result")
        }
        responder.finish()
    }

    // MARK: - auth

    struct AuthResponse: Encodable {
        var Status: String
        var IdentityToken: String
    }

    /// `POST /auth`: the credentials checked against the registry (as `skiff login` does), then saved.
    func authenticate(_ call: Call) throws {
        let body = try APIJSON.decode(AuthConfigBody.self, from: call.request.body)
        guard let credentials = body.credentials else { throw APIError.badRequest("username and password are required") }
        let host = AuthConfigBody.registryHost(body.serveraddress ?? "")
        var options = registryOptions
        options.explicitCredentials = credentials
        let outcome = Mutex<(any Error)??>(nil)
        let done = DispatchSemaphore(value: 0)
        let client = try RegistryClient(registry: host, options: options)
        Task {
            do {
                try await client.ping()
                outcome.withLock { $0 = .some(nil) }
            } catch {
                outcome.withLock { $0 = .some(error) }
            }
            done.signal()
        }
        done.wait()
        if case .some(.some(let error)) = outcome.withLock({ $0 }) {
            throw APIError(.unauthorized, "login to \(host) failed: \(error)")
        }
        try options.credentials.save(credentials, for: host)
        call.responder.sendJSON(AuthResponse(Status: "Login Succeeded", IdentityToken: ""))
    }

    // MARK: - system df

    struct DiskUsageResponse: Encodable {
        struct ContainerUsage: Encodable {
            var Id: String
            var Names: [String]
            var Image: String
            var ImageID: String
            var Command: String
            var Created: Int64
            var State: String
            var Status: String
            var SizeRw: Int64
            var SizeRootFs: Int64
            var Labels: [String: String]
            var Mounts: [String]
        }
        var LayersSize: Int64
        var Images: [ImageSummary]
        var Containers: [ContainerUsage]
        var Volumes: [VolumeResource]
        var BuildCache: [String]
    }

    /// `GET /system/df`: images (unpacked size), containers (writable layers), volumes (their data).
    func diskUsage(_ call: Call) throws {
        let images = try imageSummaries()
        let records = engine.store.all()
        let sizes = Dictionary(images.map { ($0.Id, $0.Size) }, uniquingKeysWith: { a, _ in a })
        let containers = records.map { record -> DiskUsageResponse.ContainerUsage in
            let live = engine.liveStatus(record)
            let rw = DiskUsage.bytes(under: engine.store.directory(for: record.id) + "/upper")
            return .init(
                Id: record.id, Names: ["/" + record.name], Image: record.image, ImageID: record.imageID,
                Command: record.command.joined(separator: " "), Created: Int64(Timestamp.seconds(record.created) ?? 0),
                State: live.state.rawValue, Status: live.state.rawValue, SizeRw: rw, SizeRootFs: rw + (sizes[record.imageID] ?? 0),
                Labels: record.labels ?? [:], Mounts: [])
        }
        let users = engine.volumeUsers()
        let volumes = engine.volumes.all().map {
            volumeResource($0, usage: .init(Size: engine.volumes.size(of: $0.name), RefCount: users[$0.name]?.count ?? 0))
        }
        let layers = (try? engine.diskUsage())?.first { $0.type == "Images" }?.size ?? images.reduce(0) { $0 + $1.Size }
        call.responder.sendJSON(
            DiskUsageResponse(LayersSize: layers, Images: images, Containers: containers, Volumes: volumes, BuildCache: []))
    }
}

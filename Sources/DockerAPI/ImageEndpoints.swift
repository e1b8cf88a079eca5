import Dispatch
import Engine
import ImageStore
import LinuxSupport
import OCISpec
import Registry
import Synchronization

/// One image of `GET /images/json`, docker's summary shape.
struct ImageSummary: Encodable {
    var Id: String
    var ParentId: String
    var RepoTags: [String]
    var RepoDigests: [String]
    var Created: Int64
    var Size: Int64
    var SharedSize: Int64
    var VirtualSize: Int64
    var Labels: [String: String]
    var Containers: Int
}

/// `GET /images/{name}/json`, docker's ImageInspect shape (the fields skiff knows).
struct ImageInspectResponse: Encodable {
    struct ConfigView: Encodable {
        var User: String
        var Env: [String]
        var Cmd: [String]?
        var Entrypoint: [String]?
        var WorkingDir: String
        var Labels: [String: String]
        var ExposedPorts: [String: [String: String]]?
        var Volumes: [String: [String: String]]?
        var StopSignal: String?
    }
    struct RootFSView: Encodable {
        var `Type`: String
        var Layers: [String]
    }
    var Id: String
    var RepoTags: [String]
    var RepoDigests: [String]
    var Parent: String
    var Comment: String
    var Created: String
    var Author: String
    var Architecture: String
    var Variant: String?
    var Os: String
    var Size: Int64
    var VirtualSize: Int64
    var Config: ConfigView
    var RootFS: RootFSView
}

extension DockerService {
    /// docker shows names in their familiar form (busybox:latest, localhost:5000/app:1).
    static func familiar(_ name: String) -> String {
        (try? ImageReference(parsing: name).familiar) ?? name
    }

    func imageSummaries() throws -> [ImageSummary] {
        let (images, _) = try engine.images.withSharedLock { try engine.images.imagesReportingDamage() }
        let containers = engine.store.all()
        return images.map { image in
            ImageSummary(
                Id: image.id.description, ParentId: "", RepoTags: Self.visibleNames(image.names).map(Self.familiar),
                RepoDigests: Self.visibleNames(image.names).compactMap { name in
                    (try? ImageReference(parsing: name)).map { "\($0.familiarName)@\(image.manifestDigest)" }
                },
                Created: Int64(image.config.created.flatMap(Timestamp.seconds) ?? 0), Size: image.size, SharedSize: -1,
                VirtualSize: image.size, Labels: image.config.config?.labels ?? [:],
                Containers: containers.filter { $0.imageID == image.id.description }.count)
        }
    }

    func listImages(_ call: Call) throws {
        // The build cache's images (their names all the cache's) are intermediate: with all=1 only.
        let summaries = try imageSummaries()
        call.responder.sendJSON(call.query.bool("all") ? summaries : summaries.filter { !$0.RepoTags.isEmpty })
    }

    func lookUpImage(_ name: String) throws -> Image {
        do {
            return try engine.images.withSharedLock { try engine.images.image(name, defaultRegistry: defaultRegistry) }
        } catch StoreError.imageNotFound {
            throw APIError.notFound("No such image: \(name)")
        }
    }

    func inspectImage(_ call: Call, _ name: String) throws {
        let image = try lookUpImage(name)
        let config = image.config.config
        call.responder.sendJSON(
            ImageInspectResponse(
                Id: image.id.description, RepoTags: Self.visibleNames(image.names).map(Self.familiar),
                RepoDigests: Self.visibleNames(image.names).compactMap {
                    (try? ImageReference(parsing: $0)).map { "\($0.familiarName)@\(image.manifestDigest)" }
                },
                Parent: "", Comment: "", Created: image.config.created ?? "", Author: image.config.author ?? "",
                Architecture: image.config.architecture, Variant: image.config.variant, Os: image.config.os, Size: image.size,
                VirtualSize: image.size,
                Config: .init(
                    User: config?.user ?? "", Env: config?.env ?? [], Cmd: config?.cmd, Entrypoint: config?.entrypoint,
                    WorkingDir: config?.workingDir ?? "", Labels: config?.labels ?? [:],
                    ExposedPorts: config?.exposedPorts.map { Dictionary(uniqueKeysWithValues: $0.keys.map { ($0, [:]) }) },
                    Volumes: config?.volumes.map { Dictionary(uniqueKeysWithValues: $0.keys.map { ($0, [:]) }) },
                    StopSignal: config?.stopSignal),
                RootFS: .init(Type: image.config.rootfs.type, Layers: image.config.rootfs.diffIDs.map(\.description))))
    }

    func tagImage(_ call: Call, _ name: String) throws {
        guard let repository = call.query["repo"], !repository.isEmpty else { throw APIError.badRequest("repo is required: the new name") }
        let tag = call.query["tag"].flatMap { $0.isEmpty ? nil : $0 } ?? "latest"
        let target: ImageReference
        do {
            target = try ImageReference(parsing: repository + ":" + tag, defaultRegistry: defaultRegistry)
        } catch {
            throw APIError.badRequest("invalid reference \(repository):\(tag): \(error)")
        }
        _ = try lookUpImage(name)
        try engine.images.tag(name, as: target, defaultRegistry: defaultRegistry)
        let id = (try? lookUpImage(target.description))?.id.description ?? target.description
        engine.events.record(.image("tag", id: id, name: target.description))
        call.responder.send(status: .created, body: [])
    }

    struct DeleteEntry: Encodable {
        var Untagged: String?
        var Deleted: String?
    }

    func removeImage(_ call: Call, _ name: String) throws {
        let image = try lookUpImage(name)
        // The store refuses the last name of an image a container uses (409), as docker does.
        let report = try engine.removeImages([name], force: call.query.bool("force"), defaultRegistry: defaultRegistry)
        var entries = report.removedNames.map { DeleteEntry(Untagged: Self.familiar($0), Deleted: nil) }
        if report.removedBlobs.contains(image.configDigest) {
            entries.append(DeleteEntry(Untagged: nil, Deleted: image.id.description))
        }
        call.responder.sendJSON(entries)
    }

    // MARK: - pull

    /// `POST /images/create?fromImage=NAME&tag=TAG`: pulls with newline-delimited JSON progress.
    func pullImage(_ call: Call) throws {
        guard let from = call.query["fromImage"], !from.isEmpty else {
            throw APIError.notImplemented("POST /images/create without fromImage (import) is not implemented by skiff's Docker API yet")
        }
        var name = from
        if let tag = call.query["tag"], !tag.isEmpty {
            name += tag.hasPrefix("sha256:") ? "@" + tag : ":" + tag
        }
        let reference: ImageReference
        do {
            reference = try ImageReference(parsing: name, defaultRegistry: defaultRegistry)
        } catch {
            throw APIError.badRequest("invalid reference format: \(name): \(error)")
        }
        let options = try registryOptions(for: call)
        let responder = call.responder
        responder.startStream(contentType: "application/json")
        let progress = PullProgress(responder: responder)
        progress.send(status: "Pulling from \(reference.familiarName)", id: reference.tag ?? "latest")
        let outcome = Mutex<Result<Image, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        let store = engine.images
        Task {
            do {
                let image = try await store.pull(reference, options: options, progress: progress)
                outcome.withLock { $0 = .success(image) }
            } catch {
                outcome.withLock { $0 = .failure(error) }
            }
            done.signal()
        }
        done.wait()
        switch outcome.withLock({ $0 }) {
        case .success(let image):
            engine.events.record(.image("pull", id: reference.description, name: reference.description))
            progress.send(status: "Digest: \(image.manifestDigest)", id: nil)
            progress.send(status: "Status: Downloaded newer image for \(reference.familiar)", id: nil)
        case .failure(let error):
            progress.sendError("\(error)")
        case nil:
            progress.sendError("the pull ended without a result")
        }
        responder.finish()
    }
}

/// The registry's progress as docker's JSON lines: `{"status":"Downloading","id":"abc123","progressDetail":{...}}`.
final class PullProgress: TransferProgress {
    private let responder: Responder
    /// A push's words (Pushing, Pushed, Layer already exists) instead of a pull's.
    private let pushing: Bool

    init(responder: Responder, pushing: Bool = false) {
        self.responder = responder
        self.pushing = pushing
    }

    struct Line: Encodable {
        struct Detail: Encodable {
            var current: Int64?
            var total: Int64?
        }
        struct ErrorDetail: Encodable { var message: String }
        var status: String?
        var id: String?
        var progressDetail: Detail?
        var error: String?
        var errorDetail: ErrorDetail?
    }

    private func emit(_ line: Line) {
        guard var bytes = try? APIJSON.encode(line) else { return }
        bytes.append(UInt8(ascii: "\n"))
        responder.write(bytes)
    }

    func send(status: String, id: String?) { emit(Line(status: status, id: id)) }

    func sendError(_ message: String) { emit(Line(error: message, errorDetail: .init(message: message))) }

    func message(_ text: String) {}

    func update(_ digest: Digest, phase: TransferPhase, done: Int64, total: Int64) {
        let id = String(digest.encoded.prefix(12))
        switch phase {
        case .uploading:
            emit(Line(status: "Pushing", id: id, progressDetail: .init(current: done, total: total)))
        case .done where pushing:
            emit(Line(status: "Pushed", id: id))
        case .exists where pushing:
            emit(Line(status: "Layer already exists", id: id))
        case .mounted:
            emit(Line(status: "Mounted from another repository", id: id))
        case .downloading:
            emit(Line(status: "Downloading", id: id, progressDetail: .init(current: done, total: total)))
        case .done:
            emit(Line(status: "Pull complete", id: id))
        case .exists:
            emit(Line(status: "Already exists", id: id))
        default:
            emit(Line(status: phase.rawValue, id: id))
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
import Builder
import Engine
import ImageStore
import LinuxSupport
import OCISpec

extension DockerService {
    /// An image's names without the build cache's (`localhost/skiff-build-cache:KEY`), which
    /// docker clients are not shown, as `skiff images` does not show them.
    static func visibleNames(_ names: [String]) -> [String] {
        names.filter { !$0.hasPrefix(ImageBuilder.cacheRepository + ":") }
    }

    /// One line of docker's classic builder stream.
    struct BuildStreamLine: Encodable {
        struct Aux: Encodable { var ID: String }
        struct ErrorDetail: Encodable {
            var code: Int?
            var message: String
        }
        var stream: String?
        var aux: Aux?
        var error: String?
        var errorDetail: ErrorDetail?
    }

    /// What `POST /build`'s query asks for, checked before any output.
    struct BuildRequest {
        var tags: [ImageReference] = []
        var dockerfile = "Dockerfile"
        var buildArgs: [String: String] = [:]
        var labels: [String: String] = [:]
        var target: String?
        var noCache = false
        var quiet = false
        var network = "default"

        init(query: Query, defaultRegistry: String) throws(APIError) {
            for tag in query.all("t") where !tag.isEmpty {
                do {
                    tags.append(try ImageReference(parsing: tag, defaultRegistry: defaultRegistry))
                } catch {
                    throw .badRequest("invalid reference format: \(tag): \(error)")
                }
            }
            if let name = query["dockerfile"], !name.isEmpty { dockerfile = name }
            if let remote = query["remote"], !remote.isEmpty {
                throw .badRequest("remote build contexts (\(remote)) are not supported by skiff: send the context as the body")
            }
            buildArgs = try Self.stringMap(query["buildargs"], what: "buildargs")
            labels = try Self.stringMap(query["labels"], what: "labels")
            if let value = query["target"], !value.isEmpty { target = value }
            noCache = query.bool("nocache")
            quiet = query.bool("q")
            switch query["networkmode"] ?? "" {
            case "", "default", "bridge": network = "default"
            case "none": network = "none"
            case "host": network = "host"
            case let other: throw .badRequest("networkmode \(other): a build's RUN steps take default, bridge, none or host")
            }
            if let platform = query["platform"], !platform.isEmpty,
                !["linux", "linux/amd64", "linux/x86_64"].contains(platform.lowercased())
            {
                throw .badRequest("platform \(platform) is not this host's (linux/amd64): skiff builds for the host only")
            }
            // pull, rm, forcerm, cachefrom, shmsize, memory and the cpu settings are accepted:
            // the base must be in the store, step containers are always removed.
        }

        /// docker's JSON object of strings in a query value; a null value (an ARG named
        /// without a value) is left out.
        static func stringMap(_ text: String?, what: String) throws(APIError) -> [String: String] {
            guard let text, !text.isEmpty else { return [:] }
            do {
                let decoded = try APIJSON.decode([String: String?].self, from: Array(text.utf8))
                return decoded.compactMapValues { $0 }
            } catch {
                throw .badRequest("\(what) is not a JSON object of strings: \(error)")
            }
        }
    }

    /// `POST /build`: the body is the context (a tar, plain or compressed, or a Dockerfile alone),
    /// built by the same `ImageBuilder` as `skiff build`; the answer is docker's classic builder
    /// stream (`{"stream": ...}` lines, `{"aux": {"ID": ...}}`, an error as `error`/`errorDetail`).
    func build(_ call: Call) throws {
        let request = try BuildRequest(query: call.query, defaultRegistry: defaultRegistry)
        let body = call.request.body
        guard !body.isEmpty else { throw APIError.badRequest("the build needs a context: send a tar of it as the body") }
        let parent = engine.images.root + "/build-tmp"
        let streamFile: String
        do {
            try FileIO.makeDirectories(parent, mode: 0o700)
            streamFile = "\(parent)/api-stream-\(try ContainerStore.newID().prefix(16))"
            try FileIO.writeAtomically(streamFile, body, mode: 0o600)
        } catch {
            throw APIError.internalError("cannot keep the build context: \(error)")
        }
        let received: ContextArchive.Received
        do {
            received = try ContextArchive.receive(streamFile: streamFile, head: Array(body.prefix(512)), store: engine.images)
        } catch {
            throw APIError.badRequest("\(error)")
        }
        defer { received.remove() }
        let dockerfile: String
        if let text = received.dockerfile {
            dockerfile = text
        } else {
            let names = request.dockerfile == "Dockerfile" ? ["Dockerfile", "Containerfile"] : [request.dockerfile]
            let relative = names.map { String($0.drop { $0 == "/" }) }
            guard let found = relative.first(where: { FileIO.exists(received.directory + "/" + $0) }),
                let bytes = try? ContextArchive.readFile(found, in: received.directory)
            else {
                throw APIError.badRequest("Cannot locate specified Dockerfile: \(request.dockerfile)")
            }
            dockerfile = String(decoding: bytes, as: UTF8.self)
        }
        var options = ImageBuilder.Options(context: received.directory, dockerfile: dockerfile)
        options.dockerfileName = request.dockerfile
        options.tags = request.tags
        options.buildArgs = request.buildArgs
        options.labels = request.labels
        options.target = request.target
        options.noCache = request.noCache
        options.network = request.network

        let responder = call.responder
        responder.startStream(contentType: "application/json")
        func emit(_ line: BuildStreamLine) {
            guard var bytes = try? APIJSON.encode(line) else { return }
            bytes.append(UInt8(ascii: "\n"))
            responder.write(bytes)
        }
        let quiet = request.quiet
        let builder = ImageBuilder(
            engine: engine,
            output: { entry in if !quiet { emit(BuildStreamLine(stream: entry.log)) } },
            cancelled: { responder.isClosed },
            progress: { line in if !quiet { emit(BuildStreamLine(stream: line + "\n")) } })
        do {
            let id = try builder.build(options)
            emit(BuildStreamLine(aux: .init(ID: id.description)))
            if quiet {
                emit(BuildStreamLine(stream: id.description + "\n"))
            } else {
                emit(BuildStreamLine(stream: "Successfully built \(id.shortID)\n"))
                for tag in request.tags { emit(BuildStreamLine(stream: "Successfully tagged \(Self.familiar(tag.description))\n")) }
            }
        } catch {
            let message = "\(error)"
            emit(BuildStreamLine(error: message, errorDetail: .init(code: nil, message: message)))
        }
        responder.finish()
    }
}

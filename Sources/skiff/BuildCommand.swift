import ArgumentParser
import Builder
import Engine
import Foundation
import ImageStore
import LinuxSupport
import OCISpec
import Registry

/// `skiff build`: an image from a Dockerfile (or Containerfile) and a context directory.
struct BuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build", abstract: "Build an image from a Dockerfile.")

    @OptionGroup var engineOptions: EngineOptions
    @Option(name: [.customShort("t"), .customLong("tag")], help: "Name the image NAME[:TAG] (repeatable).")
    var tags: [String] = []
    @Option(name: [.customShort("f"), .customLong("file")], help: "The Dockerfile (default CONTEXT/Dockerfile or CONTEXT/Containerfile).")
    var file: String?
    @Option(name: .customLong("build-arg"), help: "Set a build argument K=V (K alone takes it from the environment).")
    var buildArgs: [String] = []
    @Option(help: "Build up to this stage.") var target: String?
    @Flag(name: .customLong("no-cache"), help: "Run every step again.") var noCache = false
    @Flag(name: [.customShort("q"), .customLong("quiet")], help: "Print only the image ID.") var quiet = false
    @Option(help: "Write the image ID to this file.") var iidfile: String?
    @Option(help: "Set a label K=V on the image (repeatable).") var label: [String] = []
    @Option(help: "The network of RUN steps: default (the bridge), none or host.") var network = "default"
    @Option(help: "A secret for RUN --mount=type=secret: id=ID,src=FILE (repeatable).") var secret: [String] = []
    @Option(help: "How layers are stored: gzip (default), zstd or uncompressed.") var compression = "gzip"
    @Flag(help: "Pull every base image again, even when the store has it (a base that is missing is always pulled).")
    var pull = false
    @Option(help: "The platform to build for: this host's (linux/amd64) only.") var platform: String?
    @OptionGroup var registry: RegistryCommandOptions
    @Option(name: .customLong("default-registry"), help: "Registry for names without one.")
    var defaultRegistry: String = ProcessInfo.processInfo.environment["SKIFF_DEFAULT_REGISTRY"] ?? ImageReference.dockerHub
    @Argument(help: "The context directory, or - for a Dockerfile on stdin and no context.") var context: String

    func run() async throws {
        try await withEngineErrors {
            let engine = try engineOptions.openEngine()
            var received: ContextArchive.Received?
            defer { received?.remove() }
            var contextPath = context
            var dockerfileText: String
            var dockerfileName: String
            if context == "-" {
                // A tar (plain, gzip or zstd) is the context; anything else is a Dockerfile alone.
                let stream = try ContextArchive.receive(from: 0, store: engine.images)
                received = stream
                contextPath = stream.directory
                if let text = stream.dockerfile {
                    dockerfileText = text
                    dockerfileName = "Dockerfile"
                } else {
                    // -f names a file inside the streamed context, as docker's.
                    let candidates = file.map { [$0] } ?? ["Dockerfile", "Containerfile"]
                    let names = candidates.map { $0.hasPrefix("/") ? String($0.drop { $0 == "/" }) : $0 }
                    guard let found = names.first(where: { FileIO.exists(stream.directory + "/" + $0) }) else {
                        throw ValidationError("the context on stdin has no \(candidates.joined(separator: " or ")): name one with -f")
                    }
                    dockerfileText = String(decoding: try ContextArchive.readFile(found, in: stream.directory), as: UTF8.self)
                    dockerfileName = found
                }
            } else {
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: context, isDirectory: &isDirectory), isDirectory.boolValue else {
                    throw ValidationError("the build context \(context) is not a directory (- reads a tar or a Dockerfile from stdin)")
                }
                let candidates = file.map { [$0] } ?? ["\(context)/Dockerfile", "\(context)/Containerfile"]
                guard let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
                    throw ValidationError("no Dockerfile or Containerfile in \(context): name one with -f")
                }
                dockerfileText = String(decoding: try FileIO.read(found), as: UTF8.self)
                dockerfileName = found
            }
            if !contextPath.hasPrefix("/") { contextPath = FileManager.default.currentDirectoryPath + "/" + contextPath }
            var options = ImageBuilder.Options(context: contextPath, dockerfile: dockerfileText)
            options.dockerfileName = dockerfileName
            options.tags = try tags.map { try ImageReference(parsing: $0, defaultRegistry: defaultRegistry) }
            for argument in buildArgs {
                if let equals = argument.firstIndex(of: "=") {
                    options.buildArgs[String(argument[..<equals])] = String(argument[argument.index(after: equals)...])
                } else if let value = ProcessInfo.processInfo.environment[argument] {
                    options.buildArgs[argument] = value
                }
            }
            for item in label {
                let parts = item.split(separator: "=", maxSplits: 1)
                options.labels[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
            }
            options.target = target
            options.noCache = noCache
            guard ["default", "bridge", "none", "host"].contains(network) else {
                throw ValidationError("--network \(network): a build's RUN steps take default, bridge, none or host")
            }
            options.network = network == "bridge" ? "default" : network
            guard let layerCompression = LayerCompression(rawValue: compression == "none" ? "uncompressed" : compression) else {
                throw ValidationError("--compression \(compression): gzip, zstd or uncompressed")
            }
            options.compression = layerCompression
            for item in secret {
                var fields: [String: String] = [:]
                for part in item.split(separator: ",") {
                    let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
                    fields[pair[0]] = pair.count > 1 ? pair[1] : ""
                }
                let source = fields["src"] ?? fields["source"]
                guard let id = fields["id"], !id.isEmpty, let source, !source.isEmpty, (fields["type"] ?? "file") == "file" else {
                    throw ValidationError("--secret \(item): give id=ID,src=FILE")
                }
                guard FileManager.default.isReadableFile(atPath: source) else {
                    throw ValidationError("--secret \(item): \(source) is not a readable file")
                }
                options.secrets[id] = source.hasPrefix("/") ? source : FileManager.default.currentDirectoryPath + "/" + source
            }
            if let platform, platform != "linux/amd64", platform != "linux/x86_64" {
                throw ValidationError(
                    "--platform \(platform): this host builds for linux/amd64 only (skiff does not emulate other architectures)")
            }
            let quiet = self.quiet
            try await pullBases(options, engine: engine, quiet: quiet)
            let builder = ImageBuilder(engine: engine) { line in
                if !quiet { FileHandle.standardError.write(Data((line + "\n").utf8)) }
            }
            let id: Digest
            do {
                id = try builder.build(options)
            } catch let error as ImageBuilder.Failure {
                FileHandle.standardError.write(Data("skiff: build failed: \(error)\n".utf8))
                throw ExitCode(1)
            }
            if let iidfile { try FileIO.write(iidfile, Array(id.description.utf8)) }
            if quiet {
                print(id.description)
            } else {
                FileHandle.standardError.write(Data("#0 writing image \(id)\n".utf8))
                for tag in options.tags { FileHandle.standardError.write(Data("#0 naming to \(tag)\n".utf8)) }
                print(id.description)
            }
        }
    }
}

extension BuildCommand {
    /// docker build's rule for base images: a FROM image the store lacks is pulled, and with
    /// `--pull` every one is pulled again. A Dockerfile that does not parse or plan is left to the
    /// builder, which reports it with its place.
    func pullBases(_ options: ImageBuilder.Options, engine: Engine, quiet: Bool) async throws {
        guard let dockerfile = try? DockerfileParser(file: options.dockerfileName).parse(options.dockerfile),
            let plan = try? BuildPlan(dockerfile: dockerfile, target: options.target, buildArgs: options.buildArgs)
        else { return }
        var seen: Set<String> = []
        for stage in plan.stages {
            guard case .image(let name) = stage.base, seen.insert(name).inserted else { continue }
            let present = (try? engine.images.withSharedLock { try engine.images.image(name, defaultRegistry: defaultRegistry) }) != nil
            guard pull || !present else { continue }
            if !quiet { FileHandle.standardError.write(Data("#0 pulling base image \(name)\n".utf8)) }
            let reference = try ImageReference(parsing: name, defaultRegistry: defaultRegistry)
            try await engine.images.pull(reference, options: registry.registryOptions())
        }
    }
}

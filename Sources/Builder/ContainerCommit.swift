#if canImport(Glibc)
import Glibc
#endif
import Engine
import ImageStore
import LinuxSupport
import OCISpec

/// `skiff commit`: a container's changes (its overlay upper directory, as `LayerDiff` writes
/// it) as a new layer on its image, with `-c` changes applied to the config by the same rules
/// as a Dockerfile's (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, USER, VOLUME, WORKDIR,
/// STOPSIGNAL, as docker allows) and one history entry.
public enum ContainerCommit {
    public struct Options: Sendable {
        public var changes: [String] = []
        public var message: String?
        public var author: String?
        /// Freeze a running container while its files are read (docker's default).
        public var pause = true

        public init() {}
    }

    static let allowedChanges: Set<String> = [
        "cmd", "entrypoint", "env", "expose", "label", "onbuild", "user", "volume", "workdir", "stopsignal",
    ]

    /// The config `changes` make of `base` (each a Dockerfile instruction line).
    public static func apply(_ changes: [String], to base: ImageConfig) throws -> ImageConfig {
        var state = StageState(base: base)
        for change in changes {
            let keyword = change.split(separator: " ", maxSplits: 1).first?.lowercased() ?? ""
            guard allowedChanges.contains(keyword) else {
                throw ImageBuilder.Failure(
                    "--change \"\(change)\": only CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, USER, VOLUME, WORKDIR and STOPSIGNAL can be changed"
                )
            }
            do {
                let file = try DockerfileParser(file: "--change").parse("FROM scratch\n" + change)
                for parsed in file.stages[0].instructions { _ = try state.apply(parsed) }
            } catch {
                throw ImageBuilder.Failure("--change \"\(change)\": \(error)")
            }
        }
        var config = state.image
        config.history = base.history
        return config
    }

    /// Commits the container `reference` as `name`; returns the image ID.
    public static func commit(engine: Engine, container reference: String, name: ImageReference, options: Options) throws -> Digest {
        let record = try engine.store.resolve(reference)
        let image = try engine.images.image(record.imageID)
        var config = try apply(options.changes, to: image.config)
        let running = engine.liveStatus(record).isRunning
        let layer: ImageOutput.StoredLayer?
        if record.vm != nil {
            // The agent writes its changes as a layer tar; a micro-VM is not paused (its files
            // are read as they are, as `commit --pause=false` reads a process container's).
            layer = try MicroVMChanges.withTar(engine: engine, record: record) { fd -> ImageOutput.StoredLayer? in
                guard try !MicroVMChanges.paths(in: fd).isEmpty else { return nil }
                guard lseek(fd, 0, SEEK_SET) == 0 else { throw SystemError("rewind the changes of \(record.name)") }
                return try ImageOutput.storeLayer(tar: fd, in: engine.images, what: "the changes of \(record.name)")
            }
        } else {
            layer = try processContainerLayer(engine: engine, record: record, running: running, pause: options.pause)
        }
        if let author = options.author { config.author = author }
        if let layer { config.rootfs.diffIDs.append(layer.diffID) }
        var history = config.history ?? []
        history.append(
            History(
                created: Timestamp.now(), createdBy: record.command.joined(separator: " "), comment: options.message,
                emptyLayer: layer == nil ? true : nil))
        history[history.count - 1].author = options.author
        config.history = history
        let stored = try ImageOutput.storeImage(
            config: config, layers: image.manifest.layers + (layer.map { [$0.descriptor] } ?? []), names: [name], in: engine.images)
        return stored.id
    }

    /// A process container's changes (its overlay's upper directory) as a layer, paused meanwhile
    /// when it runs and `pause` (docker's default).
    static func processContainerLayer(engine: Engine, record: EngineContainer, running: Bool, pause: Bool) throws
        -> ImageOutput.StoredLayer?
    {
        if pause && running { try engine.pause(record.id) }
        let layer: ImageOutput.StoredLayer?
        do {
            layer = try ImageOutput.storeLayer(
                upper: "\(engine.images.root)/containers/\(record.id)/upper", in: engine.images, what: "the changes of \(record.name)")
        } catch {
            if pause && running { try? engine.unpause(record.id) }
            throw error
        }
        if pause && running { try engine.unpause(record.id) }
        return layer
    }
}

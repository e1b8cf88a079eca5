#if canImport(Glibc)
import Glibc
#endif
import CShim
import Engine
import ImageStore
import LinuxSupport
import OCISpec

/// `skiff build`'s executor: the planned stages in order, RUN steps as real containers through
/// the engine, COPY/ADD from the context or another stage into a layer, every filesystem step
/// cached as an image named `localhost/skiff-build-cache:<key>` (the key: SHA-256 of the parent
/// key and the step's expanded text, plus the content hash of COPY sources), the result stored
/// with the `-t` names. A failing step leaves no container, mount or temporary directory; the
/// cache images of the steps before it stay, as docker's build cache does.
public struct ImageBuilder {
    public struct Options: Sendable {
        public var context: String
        public var dockerfile: String
        public var dockerfileName = "Dockerfile"
        public var tags: [ImageReference] = []
        public var buildArgs: [String: String] = [:]
        public var target: String?
        public var noCache = false
        public var labels: [String: String] = [:]
        /// `--network`: RUN steps' network unless the step names one (`default` is the bridge).
        public var network = "default"
        /// `--secret id=ID,src=FILE`: the files `RUN --mount=type=secret,id=ID` mounts (never
        /// in a layer, and only their ids in the cache key).
        public var secrets: [String: String] = [:]
        /// `--compression`: how the layers are stored (gzip, as docker's, unless told otherwise).
        public var compression = LayerCompression.gzip

        public init(context: String, dockerfile: String) {
            self.context = context
            self.dockerfile = dockerfile
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    public static let cacheRepository = "localhost/skiff-build-cache"

    let engine: Engine
    /// Progress lines (docker's plain progress format).
    let progress: (String) -> Void
    /// Where RUN output goes: nil is our stdout and stderr (the CLI); the API streams it.
    let output: ((LogEntry) -> Void)?
    /// Polled while a RUN step runs: true stops the build (the API's client went away). With an
    /// `output` of its own the builder runs in a service and leaves its signals alone; without,
    /// SIGINT/SIGTERM/SIGHUP stop the build.
    let cancelled: () -> Bool

    public init(
        engine: Engine, output: ((LogEntry) -> Void)? = nil, cancelled: @escaping () -> Bool = { false },
        progress: @escaping (String) -> Void
    ) {
        self.engine = engine
        self.output = output
        self.cancelled = cancelled
        self.progress = progress
    }

    /// One stage as it is built: its config, its layers and the image that holds them.
    struct StageBuild {
        var name: String?
        var state: StageState
        var layers: [Descriptor]
        var key: String
        /// An image in the store with exactly `layers` (nil: none stored yet).
        var image: Image?
    }

    /// Builds and returns the image ID.
    public func build(_ options: Options) throws -> Digest {
        let dockerfile: Dockerfile
        do {
            dockerfile = try DockerfileParser(file: options.dockerfileName).parse(options.dockerfile)
        } catch {
            throw Failure("\(error)")
        }
        for note in dockerfile.notes { progress("note: \(note)") }
        let plan: BuildPlan
        do {
            plan = try BuildPlan(dockerfile: dockerfile, target: options.target, buildArgs: options.buildArgs)
        } catch {
            throw Failure("\(error)")
        }
        for name in plan.unusedBuildArgs { progress("warning: [\(name)] was given as a build arg but no ARG declares it") }
        let context = try BuildContext(root: options.context)
        var done: [Int: StageBuild] = [:]
        var step = 0
        var finalID: Digest?
        for (position, planned) in plan.stages.enumerated() {
            let stage = planned.stage
            // A base image's ONBUILD triggers run first, as if written right after FROM.
            var instructions = stage.instructions
            if case .image(let reference) = planned.base, let image = try? engine.images.image(reference) {
                instructions = try onBuildInstructions(of: image, reference: reference) + instructions
            }
            // As BuildKit: FROM and the steps that change files are numbered, config-only ones are not.
            let fileSteps = instructions.filter { parsed in
                switch parsed.instruction {
                case .run, .copy, .workdir: return true
                default: return false
                }
            }.count
            let stageName = stage.name ?? "stage-\(stage.index)"
            var fileStep = 1
            let label = "[\(stageName) 1/\(fileSteps + 1)]"
            step += 1
            progress("#\(step) \(label) \(stage.fromText)")
            var build: StageBuild
            switch planned.base {
            case .scratch:
                build = StageBuild(
                    name: stage.name,
                    state: StageState(base: nil, escape: dockerfile.escape, buildArgs: options.buildArgs, globalArgs: plan.globalArgs),
                    layers: [], key: "scratch", image: nil)
            case .image(let reference):
                let image: Image
                do {
                    image = try engine.images.image(reference)
                } catch {
                    throw Failure("\(stage.location): the base image \(reference) is not in the store: skiff pull \(reference) first")
                }
                build = StageBuild(
                    name: stage.name,
                    state: StageState(
                        base: image.config, escape: dockerfile.escape, buildArgs: options.buildArgs, globalArgs: plan.globalArgs),
                    layers: image.manifest.layers, key: image.id.description, image: image)
            case .stage(let index):
                guard let earlier = done[index] else { throw Failure("stage \(index) was not built") }
                build = earlier
                build.name = stage.name
                build.state = StageState(
                    base: earlier.state.image, escape: dockerfile.escape, buildArgs: options.buildArgs, globalArgs: plan.globalArgs)
            }
            progress("#\(step) DONE")
            for parsed in instructions {
                let buildStep: BuildStep
                do {
                    buildStep = try build.state.apply(parsed)
                } catch {
                    throw Failure("\(error)")
                }
                if case .metadata = buildStep {
                    _ = try runStep(buildStep, parsed: parsed, build: &build, done: done, context: context, options: options)
                    continue
                }
                step += 1
                fileStep += 1
                progress("#\(step) [\(stageName) \(fileStep)/\(fileSteps + 1)] \(parsed.text)")
                let started = MonotonicClock.seconds()
                let cached = try runStep(buildStep, parsed: parsed, build: &build, done: done, context: context, options: options)
                progress(cached ? "#\(step) CACHED" : "#\(step) DONE \(format1(MonotonicClock.seconds() - started))s")
            }
            if position == plan.stages.count - 1 {
                var config = build.state.image
                if !options.labels.isEmpty {
                    var labels = config.config?.labels ?? [:]
                    for (key, value) in options.labels { labels[key] = value }
                    config.config?.labels = labels
                }
                // The whole build cached: the image it made last time, with the names given now.
                let labels = options.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "\n")
                let finalReference = try cacheReference(build.key + "\nfinal\n" + labels)
                if !options.noCache, let cached = try? engine.images.image(finalReference.description) {
                    try engine.images.withSharedLock {
                        for tag in options.tags { try engine.images.setName(tag, manifest: cached.manifestDigest) }
                    }
                    finalID = cached.id
                } else {
                    let stored = try ImageOutput.storeImage(
                        config: config, layers: build.layers, names: options.tags + [finalReference], in: engine.images,
                        onBuild: build.state.onBuild)
                    finalID = stored.id
                }
            }
            done[stage.index] = build
        }
        guard let finalID else { throw Failure("nothing was built") }
        return finalID
    }

    /// The ONBUILD triggers `image` carries, parsed as the instructions they are.
    func onBuildInstructions(of image: Image, reference: String) throws -> [ParsedInstruction] {
        let triggers = ImageOutput.onBuildTriggers(of: image, in: engine.images)
        guard !triggers.isEmpty else { return [] }
        let text = "FROM scratch\n" + triggers.joined(separator: "\n") + "\n"
        do {
            let parsed = try DockerfileParser(file: "ONBUILD of \(reference)").parse(text)
            return parsed.stages.first?.instructions ?? []
        } catch {
            throw Failure("the base image \(reference) has an ONBUILD trigger skiff cannot read: \(error)")
        }
    }

    func format1(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }

    func cacheReference(_ key: String) throws -> ImageReference {
        try ImageReference(parsing: "\(Self.cacheRepository):\(SHA256Hasher.digest(Array(key.utf8)).encoded)")
    }

    /// Runs one step (or takes it from the cache: returns true then).
    func runStep(
        _ step: BuildStep, parsed: ParsedInstruction, build: inout StageBuild, done: [Int: StageBuild], context: BuildContext,
        options: Options
    ) throws -> Bool {
        let createdBy: String
        var extra = ""
        var downloads: String?
        var fetched: [String: AddURL.Fetched] = [:]
        defer { if let downloads { ContextArchive.Received(directory: downloads, dockerfile: nil).remove() } }
        switch step {
        case .metadata(let text):
            build.key += "\n" + text
            return false
        case .run(let run):
            createdBy = run.createdBy
            // The mounts are in the key; a bind's content too (a secret's never is).
            for mount in run.mounts {
                extra += "\nmount=\(mount.kind.rawValue) \(mount.target ?? "") \(mount.id ?? "") \(mount.readOnly)"
                guard mount.kind == .bind else { continue }
                let source = String((mount.source ?? "").drop { $0 == "/" })
                if let from = mount.from {
                    extra += " " + (try sourceImage(from, done: done, location: parsed.location)).id.description + " " + source
                } else {
                    extra += " " + (try context.contentHash(of: [source == "." ? "" : source])).description
                }
            }
        case .workdir(_, let text): createdBy = text
        case .copy(let copy):
            createdBy = copy.createdBy
            if copy.from == nil {
                var paths: [String] = []
                for source in copy.sources {
                    guard case .path(let path) = source else { continue }
                    if copy.isAdd, AddURL.isURL(path) {
                        // Fetched now: what it holds is part of the key, as docker compares it.
                        if downloads == nil { downloads = try ContextArchive.scratchDirectory(store: engine.images, prefix: "url") }
                        let got = try AddURL.fetch(path, into: downloads!, checksum: copy.checksum, location: parsed.location)
                        fetched[path] = got
                        extra += "\nurl \(path) \(got.digest)"
                    } else {
                        paths += try context.resolve(path)
                    }
                }
                extra += "\n" + (try context.contentHash(of: paths)).description
            } else if let from = copy.from {
                extra = "\n" + (try sourceImage(from, done: done, location: parsed.location)).id.description
            }
        }
        let key = build.key + "\n" + createdBy + extra + "\nuser=\(build.state.config.user ?? "")"
        let reference = try cacheReference(key)
        let current = build.state.image.rootfs.diffIDs
        if !options.noCache, let cached = try? engine.images.image(reference.description),
            cached.config.rootfs.diffIDs.starts(with: current)
        {
            let added = cached.config.rootfs.diffIDs.count - current.count
            guard added <= 1 else { throw Failure("the build cache entry \(reference) does not follow its parent: remove it") }
            build.state.recordLayer(createdBy: createdBy, diffID: added == 1 ? cached.config.rootfs.diffIDs.last : nil)
            build.layers = cached.manifest.layers
            build.image = cached
            build.key = key
            return true
        }
        let layer: ImageOutput.StoredLayer?
        switch step {
        case .metadata: return false
        case .run(let run):
            layer = try execute(run, build: &build, done: done, context: context, options: options, location: parsed.location)
        case .workdir(let path, _): layer = try makeDirectory(path, build: build, options: options)
        case .copy(let copy):
            layer = try copyFiles(copy, parsed: parsed, build: build, done: done, context: context, options: options, fetched: fetched)
        }
        if let layer { build.layers.append(layer.descriptor) }
        build.state.recordLayer(createdBy: createdBy, diffID: layer?.diffID, created: Timestamp.now())
        _ = try ImageOutput.storeImage(config: build.state.image, layers: build.layers, names: [reference], in: engine.images)
        build.image = try engine.images.image(reference.description)
        build.key = key
        return false
    }

    /// The image `--from` names: an earlier stage's result or an image in the store.
    func sourceImage(_ from: String, done: [Int: StageBuild], location: SourceLocation) throws -> Image {
        // A stage that made no layer yet (FROM scratch and config only) gets its image stored now.
        if let index = Int(from), var stage = done[index] { return try parentImage(&stage) }
        if var stage = done.values.first(where: { $0.name == from.lowercased() }) { return try parentImage(&stage) }
        do {
            return try engine.images.image(from)
        } catch {
            throw Failure("\(location): --from=\(from) is neither an earlier stage nor an image in the store")
        }
    }

    /// The stage's current layers as an image the engine can make a container from.
    func parentImage(_ build: inout StageBuild) throws -> Image {
        if let image = build.image { return image }
        let reference = try cacheReference(build.key + "\nbase")
        _ = try ImageOutput.storeImage(config: build.state.image, layers: build.layers, names: [reference], in: engine.images)
        let image = try engine.images.image(reference.description)
        build.image = image
        return image
    }

    /// RUN: a container of the stage's layers runs the command; its upper directory is the layer.
    func execute(
        _ run: RunStep, build: inout StageBuild, done: [Int: StageBuild], context: BuildContext, options: Options, location: SourceLocation
    ) throws -> ImageOutput.StoredLayer? {
        let image = try parentImage(&build)
        var arguments = run.arguments
        if let script = run.script {
            // A heredoc with its own interpreter: written to a file in the container by the shell.
            arguments = [
                "/bin/sh", "-c",
                "f=$(mktemp) && cat > \"$f\" <<'SKIFF_BUILD_EOF'\n\(script)SKIFF_BUILD_EOF\nchmod +x \"$f\" && \"$f\"; s=$?; rm -f \"$f\"; exit $s",
            ]
        }
        guard let program = arguments.first else { throw Failure("RUN has no command") }
        var runOptions = RunOptions()
        runOptions.entrypoint = program
        runOptions.arguments = Array(arguments.dropFirst())
        runOptions.env = run.environment
        runOptions.user = run.user.isEmpty ? nil : run.user
        runOptions.workdir = run.workingDirectory
        switch run.network == "default" ? options.network : run.network {
        case "none": runOptions.network = .none
        case "host": runOptions.network = .host
        default: break
        }
        // What the mounts need while the step runs: stage or image roots mounted, copies made.
        var mountedRoots: [String] = []
        var scratchDirectories: [String] = []
        defer {
            for id in mountedRoots { try? engine.images.release(containerID: id) }
            for directory in scratchDirectories { ContextArchive.Received(directory: directory, dockerfile: nil).remove() }
        }
        var stubs: [String] = []
        var lockedCaches: [Int32] = []
        defer { for fd in lockedCaches { close(fd) } }
        for mount in run.mounts {
            let target: String
            if let given = mount.target {
                target = given.hasPrefix("/") ? given : run.workingDirectory + "/" + given
            } else if mount.kind == .secret, let id = mount.id {
                target = "/run/secrets/" + id
            } else {
                throw Failure("\(location): RUN --mount=type=\(mount.kind.rawValue) needs a target (or, for a secret, an id)")
            }
            switch mount.kind {
            case .cache:
                // Kept between builds under the store, by id (the target when there is none).
                let id = mount.id ?? target
                let directory = "\(engine.images.root)/build-cache-mounts/\(SHA256Hasher.digest(Array(id.utf8)).encoded.prefix(32))"
                if !FileIO.exists(directory) {
                    // uid, gid and mode apply when the cache is made, as BuildKit's.
                    try FileIO.makeDirectories(directory, mode: 0o755)
                    let uid = mount.options["uid"].flatMap { uid_t($0) } ?? 0
                    let gid = mount.options["gid"].flatMap { gid_t($0) } ?? 0
                    let mode = mount.options["mode"].flatMap { mode_t($0, radix: 8) } ?? 0o755
                    guard chown(directory, uid, gid) == 0, chmod(directory, mode & 0o7777) == 0 else {
                        throw SystemError("set the owner and mode of the cache mount \(id)")
                    }
                }
                if mount.options["sharing"] == "locked" {
                    // One step at a time uses it (another build's step waits), until this one ends.
                    let lock = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                    guard lock >= 0 else { throw SystemError("open the cache mount \(id)") }
                    lockedCaches.append(lock)
                    while flock(lock, LOCK_EX) != 0 {
                        guard errno == EINTR else { throw SystemError("lock the cache mount \(id)") }
                    }
                }
                runOptions.volumes.append("\(directory):\(target)" + (mount.readOnly ? ":ro" : ""))
            case .tmpfs:
                runOptions.tmpfs.append(target)
            case .bind:
                var path = try bindSource(mount, done: done, context: context, location: location, mounted: &mountedRoots)
                if !mount.readOnly {
                    // rw: the step may write, and what it writes is thrown away, as BuildKit's.
                    let scratch = try ContextArchive.scratchDirectory(store: engine.images, prefix: "bind")
                    scratchDirectories.append(scratch)
                    let parent = try OwnedFD("open \(path)") { open(FileTreeCopy.split(path).parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
                    let name = FileTreeCopy.split(path).name
                    try FileTreeCopy.copy(
                        name, from: parent.raw, to: scratch, destination: "/data", intoDirectory: false, ignore: nil, owner: nil, mode: nil)
                    path = scratch + "/data"
                }
                runOptions.volumes.append("\(path):\(target)" + (mount.readOnly ? ":ro" : ""))
            case .secret:
                let id = mount.id ?? FileTreeCopy.split(target).name
                guard let file = options.secrets[id] else {
                    if mount.options["required"].map({ $0.lowercased() == "true" }) == true {
                        throw Failure("\(location): the secret \(id) is required: give it with --secret id=\(id),src=FILE")
                    }
                    continue
                }
                runOptions.volumes.append("\(file):\(target):ro")
            case .ssh:
                throw Failure("\(location): RUN --mount=type=ssh is not supported by skiff build (no ssh agent forwarding)")
            }
            stubs.append(target)
        }
        // An interrupted build (^C, SIGTERM) kills the step's container and removes it before
        // it ends, instead of leaving it running under its monitor.
        let watcher = output == nil ? try SignalWatcher([SIGINT, SIGTERM, SIGHUP]) : nil
        defer { watcher?.close() }
        let container = try engine.create(image: image, imageName: image.names.first ?? image.id.description, options: runOptions)
        defer { try? engine.remove(container.id, force: true) }
        let handle = try engine.start(container.id, attach: output == nil)
        // With an output of its own, the step's log is read here (a fresh container's log holds
        // only this run) and handed on; `follow` then only waits for the exit.
        var logFD: Int32 = -1
        defer { if logFD >= 0 { close(logFD) } }
        var reader: ContainerLogReader?
        if output != nil {
            let path = engine.store.logPath(for: container.id)
            logFD = open(path, O_RDONLY | O_CLOEXEC)
            guard logFD >= 0 else { throw SystemError("open \(path)") }
            reader = ContainerLogReader(fd: logFD, path: path)
        }
        var interrupted: Int32?
        let code = handle.follow {
            if let reader, let output { for entry in reader.readAvailable() { output(entry) } }
            guard interrupted == nil else { return }
            if let signal = watcher?.pending().first {
                interrupted = signal
            } else if cancelled() {
                interrupted = 0
            }
            if interrupted != nil { try? engine.kill(container.id, signal: SIGKILL) }
        }
        if let reader, let output { for entry in reader.readAvailable() { output(entry) } }
        if let interrupted {
            throw Failure(
                interrupted == 0
                    ? "the build was cancelled: the RUN step's container was removed"
                    : "interrupted by signal \(interrupted): the RUN step's container was removed")
        }
        guard let code else { throw Failure("the RUN container's monitor went away before the command ended") }
        guard code == 0 else {
            throw Failure("process \"\(arguments.joined(separator: " "))\" did not complete successfully: exit code: \(code)")
        }
        let upper = "\(engine.images.root)/containers/\(container.id)/upper"
        // What the runtime made to mount on (the host files, --mount targets) is not the step's
        // work: empty stubs the lower layers lack are left out of the layer, as BuildKit does.
        for path in ["/etc/hostname", "/etc/hosts", "/etc/resolv.conf"] + stubs where existingType(path, build: build) == nil {
            var st = stat()
            guard lstat(upper + path, &st) == 0 else { continue }
            if st.st_mode & S_IFMT == S_IFDIR {
                rmdir(upper + path)
            } else if st.st_mode & S_IFMT == S_IFREG, st.st_size == 0 {
                unlink(upper + path)
            }
            // The directories made only to hold the mount point (/run/secrets), when empty.
            var parent = FileTreeCopy.split(path).parent
            while parent != "/", !parent.isEmpty, existingType(parent, build: build) == nil, rmdir(upper + parent) == 0 {
                parent = FileTreeCopy.split(parent).parent
            }
        }
        // A directory the layers have that was copied up only to hold those stubs (/etc) is
        // not the step's change either, unless the step made it opaque.
        for path in ["/etc/hostname", "/etc/hosts", "/etc/resolv.conf"] + stubs {
            let parent = FileTreeCopy.split(path).parent
            guard parent != "/", !parent.isEmpty, existingType(parent, build: build) == S_IFDIR else { continue }
            if OverlayMarks.isOpaque(path: upper + parent) { continue }
            rmdir(upper + parent)
        }
        // The container is done: its root is unmounted so its upper directory can become the
        // layer's snapshot as it is (the container's removal then has nothing left to delete).
        engine.images.unmountRootfs(containerID: container.id)
        return try ImageOutput.storeLayer(
            upper: upper, in: engine.images, what: "the layer of RUN", adopt: true, compression: options.compression)
    }

    /// The host path a `RUN --mount=type=bind` shows: `source` in the context (never leading out
    /// of it) or in a stage's or image's root (mounted until the step ends; symlinks resolved
    /// inside that root).
    func bindSource(
        _ mount: RunMount, done: [Int: StageBuild], context: BuildContext, location: SourceLocation, mounted: inout [String]
    ) throws -> String {
        let source = mount.source ?? "/"
        let root: String
        let resolve: ConfinedOpen.Resolve
        if let from = mount.from {
            let image = try sourceImage(from, done: done, location: location)
            let id = "build-mount-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            root = try engine.images.prepareRootfs(image: image, containerID: id, durable: false)
            mounted.append(id)
            resolve = [.inRoot, .noMagicLinks]
        } else {
            root = context.root
            resolve = [.beneath, .noMagicLinks]
        }
        let rootFD = try OwnedFD("open \(root)") { open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        let relative = String(source.drop { $0 == "/" })
        let handle: OwnedFD
        do {
            handle = try ConfinedOpen.open(relative, in: rootFD.raw, flags: ConfinedOpen.oPath, resolve: resolve, what: "open \(source)")
        } catch {
            if error.errno == EXDEV {
                throw Failure("\(location): RUN --mount source \(source) leads outside the build context through a symlink: refused")
            }
            throw Failure(
                "\(location): RUN --mount source \(source) was not found\(mount.from.map { " in \($0)" } ?? " in the build context")")
        }
        // The path the kernel resolved, so the bind cannot be redirected by a symlink later.
        return try FileIO.readLink("/proc/self/fd/\(handle.raw)")
    }

    /// A scratch directory in the store (same filesystem) removed when `body` ends.
    func withScratchDirectory<T>(_ body: (String) throws -> T) throws -> T {
        let parent = engine.images.root + "/build-tmp"
        try FileIO.makeDirectories(parent, mode: 0o700)
        var template = Array("\(parent)/step-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw SystemError("mkdtemp in \(parent)") }
        let path = String(cString: made)
        InterruptCleanup.register(path)
        defer {
            FileIO.removeTree(path)
            InterruptCleanup.unregister(path)
        }
        return try body(path)
    }

    func makeDirectory(_ path: String, build: StageBuild, options: Options) throws -> ImageOutput.StoredLayer? {
        // Made only when the stage's layers do not have it.
        if existingType(path, build: build) != nil { return nil }
        return try withScratchDirectory { upper in
            try FileIO.makeDirectories(upper + path, mode: 0o755)
            return try ImageOutput.storeLayer(
                upper: upper, in: engine.images, what: "the layer of WORKDIR \(path)", adopt: true, compression: options.compression)
        }
    }

    /// What `path` is in the stage's layers (S_IFDIR, S_IFREG, ...), nil when no layer has it or
    /// the topmost one that names it deleted it (a 0/0 character device).
    func existingType(_ path: String, build: StageBuild) -> mode_t? {
        for diffID in build.state.image.rootfs.diffIDs.reversed() {
            var st = stat()
            guard lstat(engine.images.snapshots.path(for: diffID) + path, &st) == 0 else { continue }
            let type = st.st_mode & S_IFMT
            return type == S_IFCHR && st.st_rdev == 0 ? nil : type
        }
        return nil
    }

    /// COPY/ADD: the sources copied into a scratch upper directory at the destination.
    func copyFiles(
        _ copy: CopyStep, parsed: ParsedInstruction, build: StageBuild, done: [Int: StageBuild], context: BuildContext, options: Options,
        fetched: [String: AddURL.Fetched] = [:]
    ) throws -> ImageOutput.StoredLayer? {
        let owner = try owner(copy.chown, build: build)
        let mode = copy.chmod.flatMap { mode_t($0, radix: 8) }
        return try withScratchDirectory { upper in
            var sourceRoot = context.root
            var mountedID: String?
            defer { if let mountedID { try? engine.images.release(containerID: mountedID) } }
            if let from = copy.from {
                let image = try sourceImage(from, done: done, location: parsed.location)
                let id = "build-copy-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
                sourceRoot = try engine.images.prepareRootfs(image: image, containerID: id, durable: false)
                mountedID = id
            }
            let rootFD = try OwnedFD("open \(sourceRoot)") { open(sourceRoot, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
            let many = copy.sources.count > 1
            // A destination the image has as a directory takes the sources inside, as docker's.
            let intoDirectory = copy.destination.hasSuffix("/") || many || existingType(copy.destination, build: build) == S_IFDIR
            let sourcesContext = copy.from == nil ? context : nil
            for source in copy.sources {
                switch source {
                case .content(let name, let text):
                    let target = intoDirectory ? copy.destination + name : copy.destination
                    try FileTreeCopy.writeFile(upper: upper, path: target, bytes: Array(text.utf8), owner: owner, mode: mode ?? 0o644)
                case .path(let path):
                    if let got = fetched[path] {
                        // A URL's file: its name from the URL, 0600 as docker gives it.
                        let download = try OwnedFD("open \(got.path)") { open(got.path, O_RDONLY | O_CLOEXEC) }
                        var st = stat()
                        guard fstat(download.raw, &st) == 0 else { throw SystemError("stat \(got.path)") }
                        let (parent, name) = intoDirectory ? (copy.destination, got.name) : FileTreeCopy.split(copy.destination)
                        let target = try FileTreeCopy.directory(upper, parent)
                        try FileTreeCopy.copyFile(download.raw, size: st.st_size, into: target.raw, name, mode: mode ?? 0o600, owner: owner)
                        continue
                    }
                    if copy.isAdd, path.contains("://") {
                        throw Failure("\(parsed.location): ADD \(path): only http and https URLs are fetched")
                    }
                    let matches: [String]
                    if let sourcesContext {
                        matches = try sourcesContext.resolve(path)
                    } else {
                        matches = [String(path.drop { $0 == "/" })]
                    }
                    let intoDirectory = intoDirectory || matches.count > 1
                    for match in matches {
                        // ADD unpacks a local tar archive (plain or compressed) at the destination.
                        if copy.isAdd, copy.from == nil,
                            try AddArchive.unpackIfArchive(
                                match, in: rootFD.raw, upper: upper, destination: copy.destination,
                                owner: copy.chown == nil ? nil : owner, store: engine.images)
                        {
                            continue
                        }
                        try FileTreeCopy.copy(
                            match, from: rootFD.raw, to: upper, destination: copy.destination, intoDirectory: intoDirectory,
                            ignore: sourcesContext?.ignore, owner: owner, mode: mode)
                    }
                }
            }
            return try ImageOutput.storeLayer(
                upper: upper, in: engine.images, what: "the layer of \(parsed.text)", adopt: true, compression: options.compression)
        }
    }

    /// A file of the stage's layers (the topmost layer that has it), nil when none does.
    func layeredFile(_ path: String, build: StageBuild) -> String? {
        for diffID in build.state.image.rootfs.diffIDs.reversed() {
            let full = engine.images.snapshots.path(for: diffID) + path
            var st = stat()
            guard lstat(full, &st) == 0 else { continue }
            guard st.st_mode & S_IFMT == S_IFREG, let bytes = try? FileIO.read(full) else { return nil }
            return String(decoding: bytes, as: UTF8.self)
        }
        return nil
    }

    /// `--chown=USER[:GROUP]`, names or ids, resolved with the stage's /etc/passwd and
    /// /etc/group; without a group the gid is the uid, as docker's.
    func owner(_ text: String?, build: StageBuild) throws -> (uid: uid_t, gid: gid_t) {
        guard let text else { return (0, 0) }
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        guard let userPart = parts.first, !userPart.isEmpty else { throw Failure("--chown=\(text): a user is needed") }
        let passwd = layeredFile("/etc/passwd", build: build)
        let group = layeredFile("/etc/group", build: build)
        let uid: uid_t
        if let number = uid_t(userPart) {
            uid = number
        } else {
            do {
                uid = try UserResolution.resolve(userPart, passwd: passwd, group: group).uid
            } catch {
                throw Failure("--chown=\(text): \(error)")
            }
        }
        guard parts.count == 2 else { return (uid, gid_t(uid)) }
        if let number = gid_t(parts[1]) { return (uid, number) }
        do {
            return (uid, try UserResolution.resolve("0:" + parts[1], passwd: passwd, group: group).gid)
        } catch {
            throw Failure("--chown=\(text): \(error)")
        }
    }
}

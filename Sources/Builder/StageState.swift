import LinuxSupport
import OCISpec

/// What a filesystem step of a stage does, with every variable expanded: the executor runs it
/// and then records its layer with `StageState.recordLayer`.
public enum BuildStep: Sendable, Equatable {
    /// Only the image config changed (already applied, history entry added).
    case metadata(createdBy: String)
    case run(RunStep)
    case copy(CopyStep)
    /// WORKDIR: the directory is made if missing (a layer only when it was).
    case workdir(path: String, createdBy: String)
}

public struct RunStep: Sendable, Equatable {
    /// The program and its arguments: the exec form as written, or the SHELL with the command.
    public var arguments: [String]
    /// The image's Env with the stage's ARG values (ENV wins over an ARG of the same name).
    public var environment: [String]
    public var user: String
    public var workingDirectory: String
    /// `default` (docker's build network: the default bridge), `none` or `host`.
    public var network: String
    public var mounts: [RunMount]
    /// A heredoc that starts with `#!`: written to a file and executed instead of `arguments`.
    public var script: String?
    /// The history entry and (with the parent) the cache key: the instruction with its ARG
    /// values, as BuildKit writes it.
    public var createdBy: String
}

public struct CopyStep: Sendable, Equatable {
    public enum Source: Sendable, Equatable {
        case path(String)
        /// A heredoc: its name (the file name) and its content.
        case content(name: String, String)
    }
    public var isAdd: Bool
    public var sources: [Source]
    /// Absolute; ends in `/` when written so (the sources go inside it).
    public var destination: String
    /// A stage name or index, or an image.
    public var from: String?
    public var chown: String?
    public var chmod: String?
    /// ADD `--checksum=sha256:HEX`: what a URL's content must hash to.
    public var checksum: String?
    public var createdBy: String

    public init(
        isAdd: Bool, sources: [Source], destination: String, from: String?, chown: String?, chmod: String?, createdBy: String
    ) {
        (self.isAdd, self.sources, self.destination, self.from) = (isAdd, sources, destination, from)
        (self.chown, self.chmod, self.createdBy) = (chown, chmod, createdBy)
    }
}

/// One stage's image config while its instructions are applied, with docker's rules: ENV and
/// ARG scoping and expansion, WORKDIR relative to the last, ENTRYPOINT clearing an inherited
/// CMD, EXPOSE ranges and protocols, SHELL for the shell forms.
public struct StageState: Sendable {
    public var image: ImageConfig
    public var shell: [String] = ["/bin/sh", "-c"]
    /// ONBUILD triggers as written (the image config type has no OnBuild field yet).
    public var onBuild: [String] = []
    /// ARGs declared in this stage, in order, with their values (nil: declared without one).
    public private(set) var args: [(name: String, value: String?)] = []
    let escape: Character
    let buildArgs: [String: String]
    let globalArgs: [String: String]
    private var cmdSetHere = false

    public static let defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// `base` nil for `FROM scratch`: an empty config with the default PATH, as BuildKit's.
    public init(base: ImageConfig?, escape: Character = "\\", buildArgs: [String: String] = [:], globalArgs: [String: String] = [:]) {
        var image =
            base
            ?? ImageConfig(
                architecture: "amd64", os: "linux", config: ContainerConfig(env: [Self.defaultPath]),
                rootfs: RootFS(diffIDs: []))
        image.created = nil
        if image.config == nil { image.config = ContainerConfig() }
        if image.history == nil { image.history = [] }
        self.image = image
        self.escape = escape
        self.buildArgs = buildArgs
        self.globalArgs = globalArgs
    }

    public var config: ContainerConfig { image.config ?? ContainerConfig() }

    /// ENV first, then this stage's ARGs.
    public func lookup(_ name: String) -> String? {
        for entry in config.env ?? [] {
            if let equals = entry.firstIndex(of: "="), entry[..<equals] == name { return String(entry[entry.index(after: equals)...]) }
        }
        return args.last(where: { $0.name == name })?.value
    }

    /// The ARGs with values that RUN sees (and its history and cache key name), in order.
    public var argValues: [(name: String, value: String)] {
        args.compactMap { entry in entry.value.map { (entry.name, $0) } }
    }

    private func word(_ text: String, _ location: SourceLocation) throws(DockerfileError) -> String {
        let state = self
        do {
            return try ShellWord(escape: escape) { state.lookup($0) }.process(text)
        } catch {
            throw DockerfileError(error.message, at: location)
        }
    }

    private mutating func metadata(_ createdBy: String) -> BuildStep {
        image.history?.append(History(created: Timestamp.now(), createdBy: createdBy, emptyLayer: true))
        return .metadata(createdBy: createdBy)
    }

    /// Records the layer a RUN, COPY or WORKDIR step made (nil: it changed nothing, as docker
    /// then records an empty layer).
    public mutating func recordLayer(createdBy: String, diffID: Digest?, created: String? = nil) {
        if let diffID { image.rootfs.diffIDs.append(diffID) }
        image.history?.append(History(created: created, createdBy: createdBy, emptyLayer: diffID == nil ? true : nil))
    }

    private mutating func setEnv(_ key: String, _ value: String) {
        var env = config.env ?? []
        let entry = "\(key)=\(value)"
        if let index = env.firstIndex(where: { $0.hasPrefix(key + "=") }) { env[index] = entry } else { env.append(entry) }
        image.config?.env = env
    }

    private func command(_ form: CommandForm) -> [String] {
        switch form {
        case .exec(let list): return list
        case .shell(let text): return shell + [text]
        }
    }

    /// Applies one instruction: config changes at once, filesystem steps returned expanded.
    public mutating func apply(_ parsed: ParsedInstruction) throws(DockerfileError) -> BuildStep {
        let here = parsed.location
        switch parsed.instruction {
        case .from:
            throw DockerfileError("FROM inside a stage", at: here)
        case .env(let pairs):
            var expanded: [(String, String)] = []
            for pair in pairs {
                let key = try word(pair.key, here)
                guard !key.isEmpty else { throw DockerfileError("ENV names can not be blank", at: here) }
                expanded.append((key, try word(pair.value, here)))
            }
            for (key, value) in expanded { setEnv(key, value) }
            return metadata("ENV " + expanded.map { "\($0.0)=\($0.1)" }.joined(separator: " "))
        case .arg(let definitions):
            for definition in definitions {
                var value: String?
                if let given = buildArgs[definition.name] {
                    value = given
                } else if let raw = definition.defaultValue {
                    value = try word(raw, here)
                } else {
                    value = globalArgs[definition.name]
                }
                args.removeAll { $0.name == definition.name }
                args.append((definition.name, value))
            }
            let text = definitions.map { d in d.defaultValue.map { "\(d.name)=\($0)" } ?? d.name }.joined(separator: " ")
            return metadata("ARG " + text)
        case .workdir(let raw):
            var path = try word(raw, here)
            guard !path.isEmpty else { throw DockerfileError("WORKDIR needs a path", at: here) }
            if !path.hasPrefix("/") { path = (config.workingDir ?? "/") + "/" + path }
            path = Self.clean(path)
            image.config?.workingDir = path
            return .workdir(path: path, createdBy: "WORKDIR \(path)")
        case .user(let raw):
            let user = try word(raw, here)
            guard !user.isEmpty else { throw DockerfileError("USER needs a user name or id", at: here) }
            image.config?.user = user
            return metadata("USER \(user)")
        case .expose(let words):
            var ports = config.exposedPorts ?? [:]
            var added: [String] = []
            for raw in words {
                for port in try Self.exposedPorts(try word(raw, here), at: here) {
                    ports[port] = EmptyObject()
                    added.append(port)
                }
            }
            image.config?.exposedPorts = ports
            return metadata("EXPOSE map[" + added.map { "\($0):{}" }.joined(separator: " ") + "]")
        case .volume(let words):
            var volumes = config.volumes ?? [:]
            var added: [String] = []
            for raw in words {
                let path = try word(raw, here)
                guard !path.isEmpty else { throw DockerfileError("VOLUME specified can not be an empty string", at: here) }
                volumes[path] = EmptyObject()
                added.append(path)
            }
            image.config?.volumes = volumes
            return metadata("VOLUME [" + added.joined(separator: " ") + "]")
        case .label(let pairs):
            var labels = config.labels ?? [:]
            var text: [String] = []
            for pair in pairs {
                let key = try word(pair.key, here)
                guard !key.isEmpty else { throw DockerfileError("LABEL names can not be blank", at: here) }
                let value = try word(pair.value, here)
                labels[key] = value
                text.append("\(key)=\(value)")
            }
            image.config?.labels = labels
            return metadata("LABEL " + text.joined(separator: " "))
        case .cmd(let form):
            let arguments = command(form)
            image.config?.cmd = arguments
            cmdSetHere = true
            return metadata("CMD " + Self.listText(arguments))
        case .entrypoint(let form):
            let arguments = command(form)
            image.config?.entrypoint = arguments
            if !cmdSetHere { image.config?.cmd = nil }
            return metadata("ENTRYPOINT " + Self.listText(arguments))
        case .shell(let list):
            shell = list
            return metadata("SHELL " + Self.listText(list))
        case .stopSignal(let raw):
            let signal = try word(raw, here)
            do {
                _ = try SignalTable.number(signal)
            } catch {
                throw DockerfileError("STOPSIGNAL: \"\(signal)\" is not a signal name or number", at: here)
            }
            image.config?.stopSignal = signal
            return metadata("STOPSIGNAL \(signal)")
        case .healthcheck(let check):
            var health = Healthcheck()
            switch check {
            case .disabled:
                health.test = ["NONE"]
            case .check(let test, let interval, let timeout, let startPeriod, let startInterval, let retries):
                switch test {
                case .exec(let list): health.test = ["CMD"] + list
                case .shell(let text): health.test = ["CMD-SHELL", text]
                }
                health.interval = interval
                health.timeout = timeout
                health.startPeriod = startPeriod
                health.startInterval = startInterval
                health.retries = retries
            }
            image.config?.healthcheck = health
            return metadata("HEALTHCHECK " + Self.listText(health.test ?? []))
        case .onbuild(let trigger, _):
            onBuild.append(trigger)
            return metadata("ONBUILD \(trigger)")
        case .maintainer(let name):
            image.author = name
            return metadata("MAINTAINER \(name)")
        case .run(let run):
            return .run(try runStep(run, text: parsed.text, at: here))
        case .copy(let copy):
            return .copy(try copyStep(copy, at: here))
        }
    }

    private func runStep(_ run: RunInstruction, text: String, at here: SourceLocation) throws(DockerfileError) -> RunStep {
        var arguments: [String]
        var script: String?
        switch run.command {
        case .exec(let list):
            arguments = list
        case .shell(let command):
            if run.heredocs.count == 1, let heredoc = run.heredocs.first, command.trimmed.hasPrefix("<<"),
                !command.trimmed.contains(" ")
            {
                // The command is the heredoc alone: its body is the script.
                if heredoc.content.hasPrefix("#!") {
                    script = heredoc.content
                    arguments = []
                } else {
                    arguments = shell + [heredoc.content]
                }
            } else {
                var full = command
                for heredoc in run.heredocs { full += "\n" + heredoc.content + heredoc.name }
                arguments = shell + [full]
            }
        }
        var env = config.env ?? []
        for (name, value) in argValues where !env.contains(where: { $0.hasPrefix(name + "=") }) { env.append("\(name)=\(value)") }
        var mounts: [RunMount] = []
        for var mount in run.mounts {
            mount.target = try mount.target.map { raw throws(DockerfileError) in try word(raw, here) }
            mount.source = try mount.source.map { raw throws(DockerfileError) in try word(raw, here) }
            mount.from = try mount.from.map { raw throws(DockerfileError) in try word(raw, here) }
            mounts.append(mount)
        }
        let recorded = argValues.filter { !BuildPlan.predefinedArgs.contains($0.name) }
        let prefix = recorded.isEmpty ? "" : "|\(recorded.count) " + recorded.map { "\($0.name)=\($0.value)" }.joined(separator: " ") + " "
        let shown = script.map { "<<" + $0 } ?? arguments.joined(separator: " ")
        var createdBy = "RUN " + prefix + shown
        if let network = run.network, network != "default" { createdBy += " # network=\(network)" }
        return RunStep(
            arguments: arguments, environment: env, user: config.user ?? "", workingDirectory: config.workingDir ?? "/",
            network: run.network ?? "default", mounts: mounts, script: script, createdBy: createdBy)
    }

    private func copyStep(_ copy: CopyInstruction, at here: SourceLocation) throws(DockerfileError) -> CopyStep {
        var sources: [CopyStep.Source] = []
        let state = self
        for source in copy.sources {
            switch source {
            case .path(let raw):
                let path = try word(raw, here)
                guard !path.isEmpty else {
                    throw DockerfileError("\(copy.isAdd ? "ADD" : "COPY") source \(raw) is empty after substitution", at: here)
                }
                sources.append(.path(path))
            case .heredoc(let heredoc):
                var content = heredoc.content
                if heredoc.expands {
                    do {
                        content = try ShellWord(escape: escape) { state.lookup($0) }.expandVariables(content)
                    } catch {
                        throw DockerfileError(error.message, at: here)
                    }
                }
                sources.append(.content(name: heredoc.name, content))
            }
        }
        var destination = try word(copy.destination, here)
        guard !destination.isEmpty else { throw DockerfileError("the destination is empty after substitution", at: here) }
        let directory = destination.hasSuffix("/") || destination == "." || destination.hasSuffix("/.")
        if !destination.hasPrefix("/") { destination = (config.workingDir ?? "/") + "/" + destination }
        destination = Self.clean(destination)
        if directory, destination != "/" { destination += "/" }
        let from = try copy.from.map { raw throws(DockerfileError) in try word(raw, here) }
        let chown = try copy.chown.map { raw throws(DockerfileError) in try word(raw, here) }
        let chmod = try copy.chmod.map { raw throws(DockerfileError) in try word(raw, here) }
        if let chmod, UInt32(chmod, radix: 8) == nil || chmod.count > 4 {
            throw DockerfileError("--chmod=\(chmod): skiff takes an octal mode such as 0755", at: here)
        }
        let names = sources.map { source -> String in
            switch source {
            case .path(let path): return path
            case .content(let name, _): return "<<" + name
            }
        }
        var createdBy = (copy.isAdd ? "ADD " : "COPY ")
        if let from { createdBy += "--from=\(from) " }
        if let chown { createdBy += "--chown=\(chown) " }
        if let chmod { createdBy += "--chmod=\(chmod) " }
        createdBy += (names + [destination]).joined(separator: " ")
        var step = CopyStep(
            isAdd: copy.isAdd, sources: sources, destination: destination, from: from, chown: chown, chmod: chmod, createdBy: createdBy)
        step.checksum = try copy.checksum.map { raw throws(DockerfileError) in try word(raw, here) }
        return step
    }

    static func listText(_ list: [String]) -> String {
        "[" + list.map { "\"" + $0.replacingOccurrences("\\", "\\\\").replacingOccurrences("\"", "\\\"") + "\"" }.joined(separator: " ")
            + "]"
    }

    /// An absolute path with `.`, `..` and repeated slashes resolved.
    static func clean(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/") {
            if part == "." { continue }
            if part == ".." {
                if !parts.isEmpty { parts.removeLast() }
                continue
            }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }

    /// `80`, `80/tcp`, `53/udp`, `8000-8002/tcp` as ExposedPorts keys (a range is each port).
    static func exposedPorts(_ text: String, at here: SourceLocation) throws(DockerfileError) -> [String] {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        let proto = parts.count > 1 ? parts[1].lowercased() : "tcp"
        guard parts.count <= 2, ["tcp", "udp", "sctp"].contains(proto) else {
            throw DockerfileError("EXPOSE \(text): the protocol must be tcp, udp or sctp", at: here)
        }
        let range = parts[0].split(separator: "-", omittingEmptySubsequences: false)
        guard range.count <= 2, let low = UInt16(range[0]), low > 0, let high = range.count == 2 ? UInt16(range[1]) : low, high >= low
        else {
            throw DockerfileError("EXPOSE \(text): not a port (1-65535) or range of ports", at: here)
        }
        return (low...high).map { "\($0)/\(proto)" }
    }
}

extension String {
    fileprivate func replacingOccurrences(_ target: Character, _ replacement: String) -> String {
        var result = ""
        for ch in self {
            if ch == target { result += replacement } else { result.append(ch) }
        }
        return result
    }
}

import LinuxSupport
import OCISpec

/// The parts of the spec that come from `run`'s security and mount options: capabilities,
/// privileged mode, no-new-privileges, seccomp, rlimits, tmpfs and volume mounts.
extension SpecBuilder {
    /// The mounts the user asked for (-v, --tmpfs, the image's Volumes), parents before children,
    /// each replacing a default mount on the same path. Named and anonymous volumes must already
    /// exist: their host directories come in `inputs`.
    static func userMounts(_ inputs: Inputs) throws -> [Mount] {
        var mounts: [Mount] = []
        var destinations: Set<String> = []
        func add(_ mount: Mount) throws {
            guard destinations.insert(mount.destination).inserted else {
                throw EngineError.invalidOption(
                    "duplicate mount point \(mount.destination): give each -v and --tmpfs its own container path")
            }
            mounts.append(mount)
        }
        for text in inputs.options.volumes {
            switch try VolumeArgument(parsing: text) {
            case .bind(let source, let destination, let readOnly):
                let propagation = VolumeArgument.propagation(text) ?? "rprivate"
                try add(
                    Mount(
                        destination: destination, type: "bind", source: source, options: ["rbind", propagation] + (readOnly ? ["ro"] : [])))
            case .named(let name, let destination, let readOnly):
                guard let path = inputs.volumePaths[name] else {
                    throw EngineError.invalidOption("volume \(name) was not prepared: create it with `skiff volume create \(name)`")
                }
                try add(
                    Mount(destination: destination, type: "bind", source: path, options: ["rbind", "rprivate"] + (readOnly ? ["ro"] : [])))
            case .anonymous(let destination):
                guard let path = inputs.anonymousVolumePaths[destination] else {
                    throw EngineError.invalidOption("the anonymous volume for \(destination) was not prepared")
                }
                try add(Mount(destination: destination, type: "bind", source: path, options: ["rbind", "rprivate"]))
            }
        }
        for text in inputs.options.tmpfs { try add(try TmpfsOption.parse(text)) }
        // The image's Volumes the user did not mount something else on become anonymous volumes.
        for destination in imageVolumeDestinations(inputs.imageConfig) where !destinations.contains(destination) {
            guard let path = inputs.anonymousVolumePaths[destination] else {
                throw EngineError.invalidOption("the anonymous volume for the image's volume \(destination) was not prepared")
            }
            try add(Mount(destination: destination, type: "bind", source: path, options: ["rbind", "rprivate"]))
        }
        return mounts.enumerated().sorted { a, b in
            let depthA = a.element.destination.split(separator: "/").count, depthB = b.element.destination.split(separator: "/").count
            return depthA != depthB ? depthA < depthB : a.offset < b.offset
        }.map(\.element)
    }

    /// docker's rootfs propagation for binds that share mounts with the host: rshared when one is
    /// shared, else rslave when one is a slave (so host mounts can reach the bind), nil otherwise.
    static func rootfsPropagation(_ options: RunOptions) -> String? {
        let modes = Set(options.volumes.compactMap(VolumeArgument.propagation))
        if !modes.isDisjoint(with: ["shared", "rshared"]) { return "rshared" }
        if !modes.isDisjoint(with: ["slave", "rslave"]) { return "rslave" }
        return nil
    }

    /// The image config's Volumes as clean absolute paths, sorted.
    public static func imageVolumeDestinations(_ config: ContainerConfig?) -> [String] {
        (config?.volumes ?? [:]).keys.filter { $0.hasPrefix("/") }.map(VolumeArgument.clean).filter { $0 != "/" }.sorted()
    }

    /// The container paths that need a new anonymous volume: `-v /path` and image Volumes not
    /// covered by another mount.
    public static func anonymousVolumeDestinations(options: RunOptions, config: ContainerConfig?) throws -> [String] {
        var explicit: [String] = []
        var covered: Set<String> = []
        for text in options.volumes {
            let argument = try VolumeArgument(parsing: text)
            if case .anonymous(let destination) = argument { explicit.append(destination) }
            covered.insert(argument.destination)
        }
        for text in options.tmpfs { covered.insert(try TmpfsOption.parse(text).destination) }
        return explicit + imageVolumeDestinations(config).filter { !covered.contains($0) }
    }

    /// Applies --privileged, --cap-add/--cap-drop, --security-opt and --ulimit to a spec built
    /// with docker's defaults.
    static func applySecurity(_ spec: inout Spec, inputs: Inputs) throws {
        let options = inputs.options
        let security = try SecurityOptions(parsing: options.securityOpts)
        let caps = try CapabilityTweaks.compute(add: options.capAdd, drop: options.capDrop, privileged: options.privileged)
        spec.process?.capabilities = Capabilities(bounding: caps, effective: caps, permitted: caps)
        spec.process?.noNewPrivileges = security.noNewPrivileges
        for warning in security.dropped { Diagnostics.warn(warning) }
        if let profile = security.appArmorProfile { spec.process?.apparmorProfile = profile }
        if security.systemPathsUnconfined {
            spec.linux?.maskedPaths = nil
            spec.linux?.readonlyPaths = nil
        }
        let rlimits = try UlimitOption.parseAll(options.ulimits)
        spec.process?.rlimits = rlimits.isEmpty ? nil : rlimits

        if options.privileged {
            // docker's --privileged: every device, no masked or read-only paths, writable /sys
            // and cgroupfs, no seccomp.
            spec.linux?.maskedPaths = nil
            spec.linux?.readonlyPaths = nil
            spec.linux?.resources?.devices = [.init(allow: true, access: "rwm")]
            let current = spec.linux?.devices ?? []
            let existing = Set(current.map(\.path))
            spec.linux?.devices = current + inputs.hostDevices.filter { !existing.contains($0.path) }
            spec.mounts = spec.mounts?.map { mount in
                guard mount.destination == "/sys" || mount.destination == "/sys/fs/cgroup" else { return mount }
                var writable = mount
                writable.options = (mount.options ?? []).filter { $0 != "ro" } + ["rw"]
                return writable
            }
            spec.linux?.seccomp = nil
            if case .file = security.seccomp, let profile = inputs.seccompProfile {
                spec.linux?.seccomp = profile.resolve(capabilities: caps)
            }
            return
        }
        switch security.seccomp {
        case .unconfined: spec.linux?.seccomp = nil
        case .builtin: spec.linux?.seccomp = DefaultSeccompProfile.profile.resolve(capabilities: caps)
        case .file(let path):
            guard let profile = inputs.seccompProfile else {
                throw EngineError.invalidOption("the seccomp profile \(path) was not read")
            }
            spec.linux?.seccomp = profile.resolve(capabilities: caps)
        }
    }
}

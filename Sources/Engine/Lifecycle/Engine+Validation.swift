#if canImport(Glibc)
import Glibc
#endif
import ContainerRuntime
import LinuxSupport
import OCISpec

/// Checks every run option before anything is made (no rootfs, no volume, no record), so bad
/// input fails with nothing to clean up; reads the `seccomp=FILE` profile.
extension Engine {
    static func validate(_ options: RunOptions, imageConfig: ContainerConfig?) throws -> SeccompProfile? {
        if options.vm != nil { try validateMicroVM(options, imageConfig: imageConfig) }
        for text in options.volumes {
            if case .bind(let source, _, _) = try VolumeArgument(parsing: text), !FileIO.exists(source) {
                throw EngineError.invalidOption(
                    "volume source \(source) does not exist: create it first (or give a volume name without a leading /)")
            }
            if case .bind(let source, _, _) = try VolumeArgument(parsing: text), let propagation = VolumeArgument.propagation(text) {
                try checkSourcePropagation(source: source, propagation: propagation)
            }
        }
        for text in options.tmpfs { _ = try TmpfsOption.parse(text) }
        _ = try UlimitOption.parseAll(options.ulimits)
        let caps = try CapabilityTweaks.compute(add: options.capAdd, drop: options.capDrop, privileged: options.privileged)
        if let signal = options.stopSignal {
            do { _ = try SignalTable.number(signal) } catch { throw EngineError.invalidOption("--stop-signal: \(error)") }
        }
        for key in options.labels.keys where key.isEmpty {
            throw EngineError.invalidOption("invalid --label: the key is empty (use key=value)")
        }
        if case .auto = options.userns, options.privileged {
            throw EngineError.invalidOption(
                "--privileged hands the host's devices to the container, which a user namespace of its own cannot use: drop --privileged or --userns"
            )
        }
        let security = try SecurityOptions(parsing: options.securityOpts)
        guard case .file(let path) = security.seccomp else { return nil }
        let bytes: [UInt8]
        do { bytes = try FileIO.read(path) } catch {
            throw EngineError.invalidOption("cannot read the seccomp profile \(path): \(error)")
        }
        let profile: SeccompProfile
        do { profile = try RuntimeJSON.decode(SeccompProfile.self, from: bytes) } catch {
            throw EngineError.invalidOption("the seccomp profile \(path) is not valid JSON in docker's profile format: \(error)")
        }
        do { try SeccompCheck.validate(profile.resolve(capabilities: caps)) } catch {
            throw EngineError.invalidOption("the seccomp profile \(path) is invalid: \(error)")
        }
        return profile
    }

    /// docker's check for a shared or slave bind: host mounts reach it only when the mount the
    /// source lives on is shared (`shared`), or shared or a slave (`slave`).
    static func checkSourcePropagation(source: String, propagation: String) throws {
        let wantsShared = propagation.hasSuffix("shared")
        guard wantsShared || propagation.hasSuffix("slave") else { return }
        guard let resolved = realpath(source, nil) else { throw SystemError("resolve the volume source \(source)") }
        let path = String(cString: resolved)
        free(resolved)
        var best: (mountPoint: String, optional: [Substring])?
        for line in try Mounts.table().split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count > 6, let separator = fields.firstIndex(of: "-") else { continue }
            let mountPoint = Mounts.unescapeMountPath(String(fields[4]))
            guard mountPoint == "/" || path == mountPoint || path.hasPrefix(mountPoint + "/") else { continue }
            // The later of two mounts on one point is the one on top.
            if mountPoint.count >= (best?.mountPoint.count ?? 0) { best = (mountPoint, Array(fields[6..<separator])) }
        }
        guard let best else { return }
        let shared = best.optional.contains { $0.hasPrefix("shared:") }
        let slave = best.optional.contains { $0.hasPrefix("master:") }
        if wantsShared && !shared {
            throw EngineError.invalidOption(
                "-v \(source) with \(propagation): path \(path) is mounted on \(best.mountPoint) but it is not a shared mount; make it one (mount --make-shared \(best.mountPoint)) or use rprivate"
            )
        }
        if !wantsShared && !shared && !slave {
            throw EngineError.invalidOption(
                "-v \(source) with \(propagation): path \(path) is mounted on \(best.mountPoint) but it is not a shared or slave mount; make it shared (mount --make-shared \(best.mountPoint)) or use rprivate"
            )
        }
    }

    /// The container's labels: the image's, then `--label` (which wins).
    static func labels(image: [String: String]?, options: [String: String]) -> [String: String]? {
        let merged = (image ?? [:]).merging(options) { _, new in new }
        return merged.isEmpty ? nil : merged
    }

    /// What `--vm` cannot be combined with yet, refused before anything is made.
    static func validateMicroVM(_ options: RunOptions, imageConfig: ContainerConfig?) throws {
        func refuse(_ what: String, _ why: String) throws -> Never {
            throw EngineError.invalidOption("--vm cannot be combined with \(what) yet: \(why)")
        }
        if options.network == .host {
            try refuse("--network host", "a guest has its own kernel and cannot share the host's network stack; use a bridge network")
        }
        for text in options.volumes {
            // 9p shares directories: a bind of one file has no way into the guest.
            if case .bind(let source, _, _) = try VolumeArgument(parsing: text), !FileIO.isDirectory(source) {
                try refuse("-v \(text)", "only directories are shared with the guest (virtio-9p): mount the file's directory")
            }
        }
        if case .auto = options.userns { try refuse("--userns", "the micro-VM is the isolation boundary") }
        if options.privileged || !options.devices.isEmpty { try refuse("--privileged/--device", "host devices do not reach the guest") }
        _ = try microVMBackend(options, imageConfig: imageConfig)
    }

    /// The backend a `--vm` container runs on, kept in its record: `--vm-backend`, else the
    /// host's default, except that a container with volumes or directory binds defaults to QEMU
    /// (only it serves them to the guest). Refused with the reason where it cannot work.
    static func microVMBackend(_ options: RunOptions, imageConfig: ContainerConfig?) throws -> String {
        let anonymous = try SpecBuilder.anonymousVolumeDestinations(options: options, config: imageConfig)
        let needsShares = !options.volumes.isEmpty || !anonymous.isEmpty
        return try MicroVMBackends.select(options.vm?.backend, needsShares: needsShares).name
    }
}

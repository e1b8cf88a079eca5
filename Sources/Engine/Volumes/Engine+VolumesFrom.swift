import ContainerRuntime
import LinuxSupport
import OCISpec

/// `--volumes-from CONTAINER[:ro|rw]`: the volumes (named and anonymous) and host binds of
/// another container, at the same destinations, as docker mounts them. The mode, when given,
/// overrides each mount's own; a `-v`/`--mount` of the new container on the same destination wins.
extension Engine {
    /// `options.volumes` with the mounts of every `--volumes-from` container added as `-v` texts.
    func volumesFrom(_ options: RunOptions) throws -> [String] {
        var result = options.volumes
        var taken = Set(try options.volumes.map { try VolumeArgument(parsing: $0).destination })
        for text in options.tmpfs { taken.insert(try TmpfsOption.parse(text).destination) }
        for entry in options.volumesFrom {
            for volume in try Self.mountTexts(from: try volumesFromSource(entry), entry: entry, volumesDirectory: volumes.directory) {
                let destination = try VolumeArgument(parsing: volume).destination
                if taken.insert(destination).inserted { result.append(volume) }
            }
        }
        return result
    }

    /// The container `CONTAINER[:ro|rw]` names and its spec's mounts.
    private func volumesFromSource(_ entry: String) throws -> [Mount] {
        let name = String(entry.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)[0])
        guard !name.isEmpty else { throw EngineError.invalidOption("invalid --volumes-from '\(entry)': use CONTAINER[:ro|rw]") }
        let source = try store.resolve(name)
        let spec: Spec
        do {
            spec = try RuntimeJSON.decode(Spec.self, from: FileIO.read(store.directory(for: source.id) + "/config.json"))
        } catch {
            throw EngineError.invalidOption("--volumes-from \(name): the container's spec cannot be read (\(error)); recreate it")
        }
        return spec.mounts ?? []
    }

    /// The binds of `mounts` (not the engine's own hosts, hostname and resolv.conf files, and not
    /// tmpfs, which docker does not share either) as `-v` texts: a volume by its name, a host
    /// directory by its path, with the mode `entry` gives or the mount's own, and its propagation.
    static func mountTexts(from mounts: [Mount], entry: String, volumesDirectory: String) throws -> [String] {
        let parts = entry.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        var mode: Bool?  // read-only
        if parts.count == 2 {
            switch parts[1] {
            case "ro": mode = true
            case "rw": mode = false
            default: throw EngineError.invalidOption("invalid --volumes-from '\(entry)': the mode must be ro or rw")
            }
        }
        var texts: [String] = []
        for mount in mounts {
            guard mount.type == "bind", let source = mount.source,
                !["/etc/hosts", "/etc/hostname", "/etc/resolv.conf"].contains(mount.destination)
            else { continue }
            let options = mount.options ?? []
            let readOnly = mode ?? options.contains("ro")
            let propagation = options.first { ["shared", "rshared", "slave", "rslave"].contains($0) }
            let name = InspectDetails.bindSource(source, volumesDirectory: volumesDirectory)
            guard !name.contains(":"), !mount.destination.contains(":") else {
                throw EngineError.invalidOption(
                    "--volumes-from \(parts[0]): the mount \(source) on \(mount.destination) has a ':' in its path, which -v cannot express"
                )
            }
            let modes = (readOnly ? ["ro"] : []) + (propagation.map { [$0] } ?? [])
            texts.append(name + ":" + mount.destination + (modes.isEmpty ? "" : ":" + modes.joined(separator: ",")))
        }
        return texts
    }
}

#if canImport(Glibc)
import Glibc
#endif
import ContainerRuntime
import LinuxSupport
import OCISpec

/// Named and anonymous volumes: `skiff volume create/ls/rm/inspect`, the volumes `create` makes
/// or reuses, and their removal with `rm -v`. Every change happens under the container store's
/// lock, so "in use" is always checked against the current set of containers.
extension Engine {
    public var volumes: VolumeStore { VolumeStore(root: store.root) }

    /// Containers (by name) using each volume.
    public func volumeUsers() -> [String: [String]] {
        var users: [String: [String]] = [:]
        for record in store.all() {
            for volume in record.volumes ?? [] { users[volume, default: []].append(record.name) }
        }
        return users
    }

    public func createVolume(_ name: String?, labels: [String: String] = [:]) throws -> VolumeRecord {
        let volume = try store.locked {
            try volumes.create(name ?? ContainerStore.newID(), labels: labels)
        }
        events.record(.volume("create", name: volume.name))
        return volume
    }

    /// Removes a volume no container uses (`force` does not override that: docker's rule).
    public func removeVolume(_ name: String) throws {
        try store.locked {
            _ = try volumes.load(name)
            if let users = volumeUsers()[name], !users.isEmpty { throw EngineError.volumeInUse(name: name, containers: users) }
            try volumes.remove(name)
            events.record(.volume("destroy", name: name))
        }
    }

    /// Removes every volume no container uses (`all`: named ones too; otherwise anonymous only).
    public func pruneVolumes(all: Bool) throws -> [String] {
        try store.locked {
            let users = volumeUsers()
            var removed: [String] = []
            for volume in volumes.all() where (all || volume.anonymous) && (users[volume.name] ?? []).isEmpty {
                try volumes.remove(volume.name)
                events.record(.volume("destroy", name: volume.name))
                removed.append(volume.name)
            }
            return removed
        }
    }

    /// The volumes a new container needs, made (or found) before its spec is written. Returns
    /// the host paths for the spec and the names for the record; on failure, removes what it made.
    func prepareVolumes(
        options: RunOptions, config: ContainerConfig?, rootfs: String,
        inputs: inout SpecBuilder.Inputs
    ) throws -> (all: [String], anonymous: [String], made: [String]) {
        var all: [String] = []
        var anonymous: [String] = []
        var made: [String] = []
        do {
            var fresh: [(String, String)] = []  // (volume, destination): an empty one gets the image's files
            for text in options.volumes {
                guard case .named(let name, let destination, _) = try VolumeArgument(parsing: text) else { continue }
                if !volumes.exists(name) {
                    try volumes.create(name)
                    made.append(name)
                }
                // docker seeds an empty volume (new or not) with the image's files.
                fresh.append((name, destination))
                inputs.volumePaths[name] = volumes.dataPath(of: name)
                if !all.contains(name) { all.append(name) }
            }
            for destination in try SpecBuilder.anonymousVolumeDestinations(options: options, config: config) {
                let name = try ContainerStore.newID()
                try volumes.create(name, anonymous: true)
                made.append(name)
                fresh.append((name, destination))
                inputs.anonymousVolumePaths[destination] = volumes.dataPath(of: name)
                all.append(name)
                anonymous.append(name)
            }
            // docker copies what the image has at the mount point into an empty volume.
            for (name, destination) in fresh { try copyImageContent(rootfs: rootfs, path: destination, into: volumes.dataPath(of: name)) }
            // A volume made for a user-namespaced container belongs to its root (the image's files
            // copied in already carry its ids), as docker's userns-remap does.
            if let mapping = inputs.userNamespace {
                for name in made {
                    let data = volumes.dataPath(of: name)
                    try sysCall("chown \(data) to the container's root") { chown(data, mapping.hostID, mapping.hostID) }
                }
            }
        } catch {
            for name in made { try? volumes.remove(name) }
            throw error
        }
        return (all, anonymous, made)
    }

    /// Copies the rootfs directory at `path` (resolved inside the rootfs) into an empty volume.
    func copyImageContent(rootfs: String, path: String, into data: String) throws {
        let root = try ContainerRoot(path: rootfs, description: "the image")
        guard let sourceFD = try root.open(path, flags: O_RDONLY | O_DIRECTORY) else { return }
        let targetFD = try OwnedFD("open \(data)") { open(data, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        let source = sourceFD.raw, target = targetFD.raw
        guard try TreeCopy.names(in: target).isEmpty else { return }
        let copier = TreeCopy(preserveOwnership: true)
        for name in try TreeCopy.names(in: source) { try copier.copy(from: source, name, to: target, name) }
        // The volume's root takes the mode and owner of the image's directory.
        var st = stat()
        if fstat(source, &st) == 0 {
            _ = fchown(target, st.st_uid, st.st_gid)
            _ = fchmod(target, st.st_mode & 0o7777)
        }
    }

    /// Removes a container's anonymous volumes (for `rm -v` and `--rm`), unless another
    /// container uses one.
    func removeAnonymousVolumes(of record: EngineContainer) {
        guard let names = record.anonymousVolumes, !names.isEmpty else { return }
        _ = try? store.locked {
            let users = volumeUsers()
            for name in names where (users[name] ?? []).allSatisfy({ $0 == record.name }) { try? volumes.remove(name) }
        }
    }
}

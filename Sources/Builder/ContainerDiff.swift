#if canImport(Glibc)
import Glibc
#endif
import Engine
import JSON
import ImageStore
import LinuxSupport
import OCISpec

/// `skiff diff`: what a container changed in its image's files, from its overlay upper
/// directory: `A` added, `C` changed (a directory with changes below counts), `D` deleted (a
/// whiteout), sorted by path as docker prints them.
public enum ContainerDiff {
    public struct Change: Sendable, Equatable {
        public var kind: Character
        public var path: String
    }

    public static func changes(engine: Engine, container reference: String) throws -> [Change] {
        let record = try engine.store.resolve(reference)
        let image = try engine.images.image(record.imageID)
        let lowers = image.config.rootfs.diffIDs.reversed().map { engine.images.snapshots.path(for: $0) }
        func inLower(_ path: String) -> Bool {
            for lower in lowers {
                var st = stat()
                guard lstat(lower + path, &st) == 0 else { continue }
                return !OverlayMarks.isWhiteout(st)
            }
            return false
        }
        // What the runtime made only to mount on (/proc, /etc/hosts, a volume's directory) where
        // the image has nothing is not the container's change: docker keeps those in a layer of
        // their own below the container's.
        let spec = try? JSONDecoding.decode(Spec.self, from: FileIO.read(engine.store.directory(for: record.id) + "/config.json"))
        let mountpoints = Set((spec?.mounts ?? []).map(\.destination))
        func mine(_ change: Change) -> Bool { !(change.kind == "A" && mountpoints.contains(change.path)) }
        if record.vm != nil {
            // Its changes are on its guest's disk: the agent lists them as a layer.
            let paths = try MicroVMChanges.withTar(engine: engine, record: record) { try MicroVMChanges.paths(in: $0) }
            return MicroVMChanges.changes(paths, inLower: inLower).filter(mine).sorted { $0.path < $1.path }
        }
        var changes: [Change] = []
        let root = try OwnedFD("open the container's changes") {
            open("\(engine.images.root)/containers/\(record.id)/upper", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        }
        func walk(_ directory: Int32, _ prefix: String) throws {
            for name in try LayerDiff.names(in: directory) {
                let path = prefix + "/" + name
                var st = stat()
                guard fstatat(directory, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
                if OverlayMarks.isWhiteout(st) {
                    changes.append(Change(kind: "D", path: path))
                    continue
                }
                changes.append(Change(kind: inLower(path) ? "C" : "A", path: path))
                if st.st_mode & S_IFMT == S_IFDIR {
                    let child = try LayerDiff.openChild(directory, name, flags: O_RDONLY | O_DIRECTORY)
                    try walk(child.raw, path)
                }
            }
        }
        try walk(root.raw, "")
        return changes.filter(mine).sorted { $0.path < $1.path }
    }
}

#if canImport(Glibc)
import Glibc
#endif
import Engine
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
        try Engine.refuseForMicroVM(record, "diff")
        let image = try engine.images.image(record.imageID)
        let lowers = image.config.rootfs.diffIDs.reversed().map { engine.images.snapshots.path(for: $0) }
        func inLower(_ path: String) -> Bool {
            for lower in lowers {
                var st = stat()
                guard lstat(lower + path, &st) == 0 else { continue }
                return !(st.st_mode & S_IFMT == S_IFCHR && st.st_rdev == 0)
            }
            return false
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
                if st.st_mode & S_IFMT == S_IFCHR && st.st_rdev == 0 {
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
        return changes.sorted { $0.path < $1.path }
    }
}

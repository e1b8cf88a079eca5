#if canImport(Glibc)
import Glibc
#endif
import CShim
import LinuxSupport

/// A directory descriptor standing for "/" of a container, and path resolution inside it with
/// `ConfinedOpen` (RESOLVE_IN_ROOT): "..", absolute symlinks and relative ones all stay inside,
/// as if the process were chrooted there. For a running container this is /proc/<pid>/root (its
/// mount namespace: volumes and tmpfs included); for a stopped one the rootfs or a volume's directory.
final class ContainerRoot {
    let root: OwnedFD
    let description: String

    static let resolve: ConfinedOpen.Resolve = [.inRoot, .noMagicLinks]

    init(path: String, description: String) throws {
        root = try OwnedFD("open the root of \(description) (\(path))") {
            skiff_open(path, ConfinedOpen.oPath | O_DIRECTORY | O_CLOEXEC, 0)
        }
        self.description = description
    }

    /// The path's components without empty ones and ".".
    static func components(_ path: String) -> [String] {
        path.split(separator: "/").map(String.init).filter { $0 != "." }
    }

    /// Opens `path` (resolved inside the root) with `flags`; nil when it does not exist.
    func open(_ path: String, flags: Int32) throws -> OwnedFD? {
        let opened: OwnedFD
        do {
            opened = try ConfinedOpen.open(path, in: root.raw, flags: flags, resolve: Self.resolve, what: "open \(path) in \(description)")
        } catch {
            if ConfinedOpen.isMissing(error) { return nil }
            throw error
        }
        return consume opened
    }

    /// A directory (opened, symlinks resolved inside the root) and a name in it.
    struct Entry: ~Copyable {
        let directory: OwnedFD
        let name: String
    }

    /// The parent directory and the last name of `path`; for "/" the root itself and ".".
    func parentAndName(_ path: String) throws -> Entry? {
        var parts = Self.components(path)
        // ".." as the last component means its parent directory: resolve it fully.
        guard let last = parts.last, last != ".." else {
            guard let directory = try open(path, flags: O_RDONLY | O_DIRECTORY) else { return nil }
            return Entry(directory: directory, name: ".")
        }
        parts.removeLast()
        guard let directory = try open("/" + parts.joined(separator: "/"), flags: O_RDONLY | O_DIRECTORY) else { return nil }
        return Entry(directory: directory, name: last)
    }

    /// Resolves a final symlink (for `cp -L`) inside the root: the path of what it points to.
    func followingLinks(_ path: String) throws -> String {
        let resolved: String
        do {
            resolved = try ConfinedOpen.followingLinks(path, in: root.raw)
        } catch {
            guard error.errno == ELOOP else { throw error }
            throw EngineError.invalidOption("too many levels of symbolic links at \(path) in \(description)")
        }
        return resolved
    }
}

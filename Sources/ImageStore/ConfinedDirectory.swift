#if canImport(Glibc)
import Glibc
#endif
import CShim
import LinuxSupport

/// A directory tree that files are created in strictly beneath its root.
///
/// It exists so that a hostile layer can never write outside its snapshot: every parent directory
/// is resolved with `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)`, so `..`, absolute symlinks
/// and writes through any symlink fail in the kernel, and every final step uses an `*at` call
/// that does not follow symlinks.
final class ConfinedDirectory {
    /// How every directory is opened (`ConfinedOpen`): beneath the root, through no symlink,
    /// no magic link and no mount point.
    static let resolve: ConfinedOpen.Resolve = [.beneath, .noSymlinks, .noMagicLinks, .noXdev]

    let root: OwnedFD
    let rootPath: String
    var rootFD: Int32 { root.raw }
    private var cachedPath: String?
    private var cachedFD: OwnedFD?

    init(path: String) throws {
        rootPath = path
        root = try OwnedFD("open \(path)") { skiff_open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0) }
    }

    func dropCache() {
        cachedFD = nil
        cachedPath = nil
    }

    /// Why a parent directory could not be reached.
    enum ResolveError: Error {
        case throughSymlink
        case notDirectory
        case system(SystemError)
    }

    /// Opens directory `relative` ("" is the root), creating missing components with mode 0755.
    /// The returned fd is owned by the cache: valid until the next call or `dropCache`.
    func parent(_ relative: String) throws(ResolveError) -> Int32 {
        if relative.isEmpty { return rootFD }
        if cachedPath == relative, let fd = cachedFD?.raw { return fd }
        let fd: OwnedFD
        do {
            fd = try openDirectory(relative)
        } catch  where error.errno == ENOENT {
            fd = try createComponents(relative)
        } catch {
            throw classify(error, relative)
        }
        dropCache()
        let raw = fd.raw
        cachedFD = consume fd
        cachedPath = relative
        return raw
    }

    /// Opens the existing directory `relative` (never through a symlink or out of the tree);
    /// the caller owns the result.
    func openDirectory(_ relative: String) throws(SystemError) -> OwnedFD {
        try Self.openBeneath(rootFD, relative, what: "open \(rootPath)/\(relative)")
    }

    private static func openBeneath(_ dirfd: Int32, _ path: String, what: @autoclosure () -> String) throws(SystemError) -> OwnedFD {
        try ConfinedOpen.open(path, in: dirfd, flags: O_RDONLY | O_DIRECTORY | O_NOFOLLOW, resolve: resolve, what: what())
    }

    private func createComponents(_ relative: String) throws(ResolveError) -> OwnedFD {
        var opened: OwnedFD?
        for component in relative.split(separator: "/") {
            let name = String(component)
            let current = opened?.raw ?? rootFD
            let what = "open \(rootPath)/\(relative)"
            let next: OwnedFD
            do {
                next = try Self.openBeneath(current, name, what: what)
            } catch  where error.errno == ENOENT {
                if mkdirat(current, name, 0o755) != 0 && errno != EEXIST {
                    throw .system(SystemError("mkdir \(rootPath)/\(relative)"))
                }
                do { next = try Self.openBeneath(current, name, what: what) } catch { throw classify(error, relative) }
            } catch {
                throw classify(error, relative)
            }
            opened = consume next
        }
        guard let opened else { throw .system(SystemError("open \(rootPath)/\(relative)", errno: ENOENT)) }
        return opened
    }

    /// ELOOP and EXDEV mean a symlink or mount was crossed; ENOTDIR may mean a symlink too
    /// (O_DIRECTORY on one), so look at the components to tell which.
    func classify(_ error: SystemError, _ relative: String) -> ResolveError {
        switch error.errno {
        case ELOOP, EXDEV:
            return .throughSymlink
        case ENOTDIR:
            return containsSymlink(relative) ? .throughSymlink : .notDirectory
        default:
            return .system(error)
        }
    }

    /// Whether some prefix of `relative` is a symlink (checked shortest first, so none is followed).
    func containsSymlink(_ relative: String) -> Bool {
        var prefix = ""
        for component in relative.split(separator: "/") {
            prefix = prefix.isEmpty ? String(component) : prefix + "/" + component
            guard let type = Self.fileType(rootFD, prefix) else { return false }
            if type == S_IFLNK { return true }
            if type != S_IFDIR { return false }
        }
        return false
    }

    /// The kind of whatever is at `name` in `dirfd`, without following symlinks.
    static func fileType(_ dirfd: Int32, _ name: String) -> mode_t? {
        var st = stat()
        guard fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { return nil }
        return st.st_mode & S_IFMT
    }

    /// Removes whatever is at `name` in `dirfd` (a whole tree for directories), never following symlinks.
    static func remove(_ dirfd: Int32, _ name: String) throws {
        guard let type = fileType(dirfd, name) else { return }
        if type == S_IFDIR {
            do {
                let child = try OwnedFD("open \(name)") {
                    skiff_openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0)
                }
                for entry in try FileIO.listDirectory("/proc/self/fd/\(child.raw)") {
                    try remove(child.raw, entry)
                }
            }
            try sysCall("rmdir \(name)") { unlinkat(dirfd, name, AT_REMOVEDIR) }
        } else {
            try sysCall("unlink \(name)") { unlinkat(dirfd, name, 0) }
        }
    }
}

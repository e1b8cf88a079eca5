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
    static let resolveNoXdev: UInt64 = 0x01
    static let resolveNoMagiclinks: UInt64 = 0x02
    static let resolveNoSymlinks: UInt64 = 0x04
    static let resolveBeneath: UInt64 = 0x08

    let rootFD: Int32
    let rootPath: String
    private var cachedParent: (path: String, fd: Int32)?

    init(path: String) throws {
        rootPath = path
        rootFD = try sysCall("open \(path)") { skiff_open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0) }
    }

    deinit {
        dropCache()
        close(rootFD)
    }

    func dropCache() {
        if let cached = cachedParent, cached.fd != rootFD { close(cached.fd) }
        cachedParent = nil
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
        if let cached = cachedParent, cached.path == relative { return cached.fd }
        let fd: Int32
        switch openBeneath(rootFD, relative) {
        case .success(let opened):
            fd = opened
        case .failure(let error) where error.errno == ENOENT:
            fd = try createComponents(relative)
        case .failure(let error):
            throw classify(error, relative)
        }
        dropCache()
        cachedParent = (relative, fd)
        return fd
    }

    private func createComponents(_ relative: String) throws(ResolveError) -> Int32 {
        var current = rootFD
        var ownsCurrent = false
        defer { if ownsCurrent { close(current) } }
        for component in relative.split(separator: "/") {
            let name = String(component)
            var result = openBeneath(current, name)
            if case .failure(let error) = result, error.errno == ENOENT {
                if mkdirat(current, name, 0o755) != 0 && errno != EEXIST {
                    throw .system(SystemError("mkdir \(rootPath)/\(relative)"))
                }
                result = openBeneath(current, name)
            }
            switch result {
            case .success(let next):
                if ownsCurrent { close(current) }
                current = next
                ownsCurrent = true
            case .failure(let error):
                throw classify(error, relative)
            }
        }
        ownsCurrent = false
        return current
    }

    private func openBeneath(_ dirfd: Int32, _ path: String) -> Result<Int32, SystemError> {
        while true {
            let fd = skiff_openat2(
                dirfd, path, UInt64(O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW), 0,
                Self.resolveBeneath | Self.resolveNoSymlinks | Self.resolveNoMagiclinks | Self.resolveNoXdev)
            if fd >= 0 { return .success(fd) }
            if errno == EINTR || errno == EAGAIN { continue }
            return .failure(SystemError("open \(rootPath)/\(path)"))
        }
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
            let child = try sysCall("open \(name)") {
                skiff_openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0)
            }
            let names: [String]
            do {
                names = try FileIO.listDirectory("/proc/self/fd/\(child)")
            } catch {
                close(child)
                throw error
            }
            for entry in names {
                do { try remove(child, entry) } catch { close(child); throw error }
            }
            close(child)
            try sysCall("rmdir \(name)") { unlinkat(dirfd, name, AT_REMOVEDIR) }
        } else {
            try sysCall("unlink \(name)") { unlinkat(dirfd, name, 0) }
        }
    }
}

/// A tar entry name split into a parent path and a final name, with `.` and empty parts dropped.
struct EntryPath: Equatable {
    var parent: String
    var name: String

    /// Nil when the path is the root itself ("./").
    /// Throws a reason when it is hostile: a `..` component or an absolute path.
    static func parse(_ raw: String) throws(EntryPathError) -> EntryPath? {
        if raw.hasPrefix("/") { throw .absolute }
        var parts: [Substring] = []
        for part in raw.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." { throw .dotDot }
            parts.append(part)
        }
        guard let last = parts.popLast() else { return nil }
        return EntryPath(parent: parts.joined(separator: "/"), name: String(last))
    }

    var full: String { parent.isEmpty ? name : parent + "/" + name }
}

enum EntryPathError: Error {
    case absolute
    case dotDot

    var reason: String {
        switch self {
        case .absolute: return "has an absolute path"
        case .dotDot: return "contains '..'"
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
import CShim
import LinuxSupport

/// Paths resolved inside a container's root filesystem as if it were "/": symlinks and ".." can
/// never lead outside it (openat2 with RESOLVE_IN_ROOT). Mount targets, device nodes and masked
/// paths all go through this, so a hostile image cannot redirect a mount onto the host.
struct RootedPath {
    let rootFD: Int32
    let rootPath: String

    /// How every path is resolved (`ConfinedOpen`): inside the root, never through /proc's magic links.
    static let resolve: ConfinedOpen.Resolve = [.inRoot, .noMagicLinks]

    init(root: String) throws {
        rootPath = root
        rootFD = try OwnedFD("open rootfs \(root)") { skiff_open(root, ConfinedOpen.oPath | O_DIRECTORY | O_CLOEXEC, 0) }.take()
    }

    func close() { Glibc.close(rootFD) }

    /// Opens an existing path inside the root with O_PATH (or `flags`), following symlinks within
    /// it. The caller closes the descriptor (RootfsSetup's callers take raw numbers).
    func open(_ path: String, flags: Int32 = ConfinedOpen.oPath) throws -> Int32 {
        try openOwned(path, flags: flags).take()
    }

    func openOwned(_ path: String, flags: Int32 = ConfinedOpen.oPath) throws(SystemError) -> OwnedFD {
        try ConfinedOpen.open(path, in: rootFD, flags: flags, resolve: Self.resolve, what: "open \(path) in rootfs")
    }

    /// Creates a directory and its parents inside the root; returns an O_PATH descriptor to it.
    func makeDirectories(_ path: String, mode: mode_t = 0o755) throws -> Int32 {
        if let fd = try? open(path, flags: ConfinedOpen.oPath | O_DIRECTORY) { return fd }
        return try create(path, file: false, mode: mode)
    }

    /// Creates an empty file (for bind-mounting a file, or a masked path) unless something exists.
    func makeFile(_ path: String, mode: mode_t = 0o644) throws -> Int32 {
        if let fd = try? open(path) { return fd }
        return try create(path, file: true, mode: mode)
    }

    /// Walks `path` from the root creating what is missing (directories, and for `file` the last
    /// component as an empty file with `mode`; directories get 0755 then), as runc and crun do
    /// for mount destinations. A symlink on the way is followed by hand inside the root: an
    /// absolute target starts again at the root, ".." stops there, and a missing target is
    /// created inside the root too (an image's dangling /var/run -> /run). Each step opens its
    /// parent with RESOLVE_IN_ROOT, so a path swapped meanwhile still cannot lead out.
    private func create(_ path: String, file: Bool, mode: mode_t) throws -> Int32 {
        var pending = Self.components(path)
        var resolved: [String] = []
        var links = 0
        while !pending.isEmpty {
            let name = pending.removeFirst()
            if name == ".." {
                _ = resolved.popLast()
                continue
            }
            let isLast = pending.isEmpty
            let parentFD = try openOwned("/" + resolved.joined(separator: "/"), flags: ConfinedOpen.oPath | O_DIRECTORY)
            let parent = parentFD.raw
            var st = stat()
            if fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) == 0 {
                if (st.st_mode & S_IFMT) == S_IFLNK {
                    links += 1
                    guard links <= 40 else { throw SystemError("resolve \(path) in rootfs", errno: ELOOP) }
                    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
                    let n = readlinkat(parent, name, &buffer, buffer.count - 1)
                    guard n >= 0 else { throw SystemError("readlink \(path) in rootfs") }
                    let target = String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                    if target.hasPrefix("/") { resolved = [] }
                    pending = Self.components(target) + pending
                    continue
                }
                if !(isLast && file) && (st.st_mode & S_IFMT) != S_IFDIR {
                    throw SystemError("mkdir /\((resolved + [name]).joined(separator: "/")) in rootfs", errno: ENOTDIR)
                }
            } else if errno != ENOENT {
                throw SystemError("stat /\((resolved + [name]).joined(separator: "/")) in rootfs")
            } else if isLast && file {
                let created = skiff_openat(parent, name, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, UInt32(mode))
                if created >= 0 {
                    Glibc.close(created)
                } else if errno != EEXIST {
                    throw SystemError("create \(path) in rootfs")
                }
            } else if mkdirat(parent, name, file ? 0o755 : mode) != 0 && errno != EEXIST {
                throw SystemError("mkdir /\((resolved + [name]).joined(separator: "/")) in rootfs")
            }
            resolved.append(name)
        }
        return try open("/" + resolved.joined(separator: "/"), flags: ConfinedOpen.oPath | (file ? 0 : O_DIRECTORY))
    }

    static func components(_ path: String) -> [String] {
        path.split(separator: "/").map(String.init).filter { $0 != "." }
    }

    /// The /proc/self/fd path through which mount(2) reaches an O_PATH descriptor.
    static func procPath(_ fd: Int32) -> String { "/proc/self/fd/\(fd)" }

    static func split(_ path: String) -> (String, String) {
        var parts = path.split(separator: "/").map(String.init)
        let name = parts.popLast() ?? ""
        return ("/" + parts.joined(separator: "/"), name)
    }
}

#if canImport(Glibc)
import Glibc
#endif
import LinuxSupport

/// COPY's file work: a source tree (the context, or another stage's root, both possibly
/// hostile) copied into a build step's scratch upper directory. Sources are opened with
/// `ConfinedOpen` under their root; the scratch side is walked one component at a time from
/// descriptors without following symlinks, so a symlink one source copied cannot redirect what
/// a later one writes.
enum FileTreeCopy {
    typealias Owner = (uid: uid_t, gid: gid_t)

    /// The directory `path` (absolute inside `upper`) as a descriptor, made 0755 where missing.
    static func directory(_ upper: String, _ path: String) throws -> OwnedFD {
        var current = try OwnedFD("open \(upper)") { open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        for component in path.split(separator: "/") where component != "." && component != ".." {
            let name = String(component)
            if mkdirat(current.raw, name, 0o755) != 0 && errno != EEXIST { throw SystemError("mkdir \(path)") }
            current = try ConfinedOpen.open(
                name, in: current.raw, flags: O_RDONLY | O_DIRECTORY | O_NOFOLLOW, resolve: [.beneath, .noSymlinks, .noMagicLinks],
                what: "open \(name) of \(path) (a directory is expected there)")
        }
        return current
    }

    static func split(_ path: String) -> (parent: String, name: String) {
        let trimmed = path.hasSuffix("/") ? String(path.dropLast()) : path
        guard let slash = trimmed.lastIndex(of: "/") else { return ("/", trimmed) }
        return (String(trimmed[..<slash]), String(trimmed[trimmed.index(after: slash)...]))
    }

    static func writeFile(upper: String, path: String, bytes: [UInt8], owner: Owner, mode: mode_t) throws {
        let (parent, name) = split(path)
        guard !name.isEmpty else { throw SystemError("COPY: \(path) names no file") }
        let directory = try directory(upper, parent)
        let file = try OwnedFD("create \(path)") {
            openat(directory.raw, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode)
        }
        try FileIO.writeAll(fd: file.raw, bytes, what: path)
        _ = fchown(file.raw, owner.uid, owner.gid)
        _ = fchmod(file.raw, mode)
    }

    /// Copies `source` (relative to `rootFD`; "" is the root) as COPY does: a directory's
    /// contents go into `destination`; a file goes to `destination` or, `intoDirectory`, into it.
    static func copy(
        _ source: String, from rootFD: Int32, to upper: String, destination: String, intoDirectory: Bool, ignore: DockerIgnore?,
        owner: Owner?, mode: mode_t?
    ) throws {
        let handle = try ConfinedOpen.open(
            source, in: rootFD, flags: O_RDONLY, resolve: ignore == nil ? [.inRoot, .noMagicLinks] : [.beneath, .noMagicLinks],
            what: "open COPY source \(source)")
        var st = stat()
        guard fstat(handle.raw, &st) == 0 else { throw SystemError("stat \(source)") }
        if st.st_mode & S_IFMT == S_IFDIR {
            let target = try directory(upper, destination)
            try copyChildren(of: handle.raw, relative: source, into: target.raw, ignore: ignore, owner: owner, mode: mode)
            return
        }
        guard st.st_mode & S_IFMT == S_IFREG else { throw SystemError("COPY source \(source) is neither a file nor a directory") }
        let (parent, name) = intoDirectory ? (destination, split(source).name) : split(destination)
        let target = try directory(upper, parent)
        try copyFile(
            handle.raw, size: st.st_size, into: target.raw, name, mode: mode ?? (st.st_mode & 0o7777),
            owner: owner ?? (st.st_uid, st.st_gid))
    }

    static func copyFile(_ source: Int32, size: off_t, into directory: Int32, _ name: String, mode: mode_t, owner: Owner) throws {
        let file = try OwnedFD("create \(name)") {
            openat(directory, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o600)
        }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw SystemError("read \(name)") }
            if n == 0 { break }
            try FileIO.writeAll(fd: file.raw, Array(buffer[0..<n]), what: name)
        }
        guard fchown(file.raw, owner.uid, owner.gid) == 0, fchmod(file.raw, mode) == 0 else {
            throw SystemError("set owner and mode of \(name)")
        }
    }

    static func copyChildren(
        of source: Int32, relative: String, into target: Int32, ignore: DockerIgnore?, owner fixedOwner: Owner?, mode: mode_t?
    ) throws {
        for name in try LayerDiff.names(in: source) {
            let path = relative.isEmpty ? name : relative + "/" + name
            if let ignore, ignore.isIgnored(path), !ignore.hasExceptions { continue }
            var st = stat()
            guard fstatat(source, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { throw SystemError("stat \(path)") }
            // nil: the source's own owners (ADD of an archive keeps the archive's).
            let owner = fixedOwner ?? (st.st_uid, st.st_gid)
            switch st.st_mode & S_IFMT {
            case S_IFDIR:
                if mkdirat(target, name, 0o755) != 0 && errno != EEXIST { throw SystemError("mkdir \(path)") }
                let child = try LayerDiff.openChild(source, name, flags: O_RDONLY | O_DIRECTORY)
                let made = try LayerDiff.openChild(target, name, flags: O_RDONLY | O_DIRECTORY)
                try copyChildren(of: child.raw, relative: path, into: made.raw, ignore: ignore, owner: fixedOwner, mode: mode)
                guard fchown(made.raw, owner.uid, owner.gid) == 0, fchmod(made.raw, mode ?? (st.st_mode & 0o7777)) == 0 else {
                    throw SystemError("set owner and mode of \(path)")
                }
            case S_IFREG:
                if let ignore, ignore.isIgnored(path) { continue }
                let file = try LayerDiff.openChild(source, name, flags: O_RDONLY)
                try copyFile(file.raw, size: st.st_size, into: target, name, mode: mode ?? (st.st_mode & 0o7777), owner: owner)
            case S_IFLNK:
                if let ignore, ignore.isIgnored(path) { continue }
                var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
                let n = readlinkat(source, name, &buffer, buffer.count - 1)
                guard n >= 0 else { throw SystemError("readlink \(path)") }
                buffer[n] = 0
                unlinkat(target, name, 0)
                guard symlinkat(buffer, target, name) == 0 else { throw SystemError("symlink \(path)") }
                _ = fchownat(target, name, owner.uid, owner.gid, AT_SYMLINK_NOFOLLOW)
            default:
                continue
            }
        }
    }
}

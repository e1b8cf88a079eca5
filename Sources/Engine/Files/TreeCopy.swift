#if canImport(Glibc)
import Glibc
#endif
import CShim
import LinuxSupport

/// Copies a file tree between two directory descriptors, one name at a time: every step opens a
/// single component relative to its parent's descriptor with O_NOFOLLOW and RESOLVE_BENEATH, so a
/// symlink inside the tree (or one swapped in while we copy) is copied as a link and never
/// followed out of the tree. Used by `cp` and by the copy of an image's files into a new volume.
struct TreeCopy {
    /// Keep the source's uid and gid (otherwise files belong to `owner`).
    var preserveOwnership: Bool
    var owner: (uid: UInt32, gid: UInt32) = (0, 0)
    /// Copying out of a container to the host without -a: a container's setuid binary must not
    /// become a setuid-root file on the host, nor its device node a host device anyone may open.
    var hostSafe = false

    /// Opens one name inside `directory` without following a symlink (`ConfinedOpen`, RESOLVE_BENEATH).
    static func openChild(_ directory: Int32, _ name: String, flags: Int32, mode: mode_t = 0) throws(SystemError) -> OwnedFD {
        try ConfinedOpen.open(
            name, in: directory, flags: flags | O_NOFOLLOW, mode: mode, resolve: [.beneath, .noMagicLinks], what: "open \(name)")
    }

    static func lstatAt(_ directory: Int32, _ name: String) -> stat? {
        var st = stat()
        return fstatat(directory, name, &st, AT_SYMLINK_NOFOLLOW) == 0 ? st : nil
    }

    static func names(in directory: Int32) throws -> [String] {
        let copy = try OwnedFD("dup") { skiff_fcntl_int(directory, F_DUPFD_CLOEXEC, 0) }
        guard let dir = fdopendir(copy.raw) else { throw SystemError("read directory") }
        _ = copy.take()  // the DIR stream owns it now
        defer { closedir(dir) }
        var result: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            if name != "." && name != ".." { result.append(name) }
        }
        return result.sorted()
    }

    /// Copies `sourceName` in `sourceDir` to `targetName` in `targetDir` (merging into an existing
    /// directory, replacing an existing file).
    func copy(from sourceDir: Int32, _ sourceName: String, to targetDir: Int32, _ targetName: String) throws {
        guard let st = Self.lstatAt(sourceDir, sourceName) else { throw SystemError("stat \(sourceName)") }
        let type = st.st_mode & S_IFMT
        let mode = st.st_mode & (hostSafe ? 0o1777 : 0o7777)
        switch type {
        case S_IFDIR:
            if let existing = Self.lstatAt(targetDir, targetName), (existing.st_mode & S_IFMT) != S_IFDIR {
                throw EngineError.invalidOption("cannot overwrite non-directory \(targetName) with a directory")
            }
            if mkdirat(targetDir, targetName, 0o700) != 0 && errno != EEXIST { throw SystemError("mkdir \(targetName)") }
            let source = try Self.openChild(sourceDir, sourceName, flags: O_RDONLY | O_DIRECTORY)
            let target = try Self.openChild(targetDir, targetName, flags: O_RDONLY | O_DIRECTORY)
            for name in try Self.names(in: source.raw) {
                try copy(from: source.raw, name, to: target.raw, name)
            }
            try finish(target: target.raw, st: st, mode: mode)
        case S_IFREG:
            if let existing = Self.lstatAt(targetDir, targetName), (existing.st_mode & S_IFMT) == S_IFDIR {
                throw EngineError.invalidOption("cannot overwrite directory \(targetName) with a file")
            }
            let source = try Self.openChild(sourceDir, sourceName, flags: O_RDONLY)
            unlinkat(targetDir, targetName, 0)
            let target = try Self.openChild(targetDir, targetName, flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o600)
            try Self.copyData(from: source.raw, to: target.raw, what: sourceName)
            try finish(target: target.raw, st: st, mode: mode)
            try target.close(what: targetName)
        case S_IFLNK:
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = readlinkat(sourceDir, sourceName, &buffer, buffer.count - 1)
            guard n >= 0 else { throw SystemError("readlink \(sourceName)") }
            let link = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if let existing = Self.lstatAt(targetDir, targetName), (existing.st_mode & S_IFMT) == S_IFDIR {
                throw EngineError.invalidOption("cannot overwrite directory \(targetName) with a symlink")
            }
            unlinkat(targetDir, targetName, 0)
            guard symlinkat(link, targetDir, targetName) == 0 else { throw SystemError("symlink \(targetName)") }
            let uid = preserveOwnership ? st.st_uid : owner.uid, gid = preserveOwnership ? st.st_gid : owner.gid
            _ = fchownat(targetDir, targetName, uid, gid, AT_SYMLINK_NOFOLLOW)
        case S_IFCHR where hostSafe, S_IFBLK where hostSafe:
            CopyWarnings.warn("skipped device node \(sourceName): device nodes are copied out of a container only with -a")
            return
        case S_IFIFO, S_IFCHR, S_IFBLK:
            unlinkat(targetDir, targetName, 0)
            guard mknodat(targetDir, targetName, type | mode, st.st_rdev) == 0 else { throw SystemError("mknod \(targetName)") }
            let uid = preserveOwnership ? st.st_uid : owner.uid, gid = preserveOwnership ? st.st_gid : owner.gid
            _ = fchownat(targetDir, targetName, uid, gid, AT_SYMLINK_NOFOLLOW)
        default:
            return  // sockets are not copied (docker skips them too)
        }
    }

    /// Owner, mode and times of a copied file or directory, set through its descriptor.
    private func finish(target: Int32, st: stat, mode: mode_t) throws {
        let uid = preserveOwnership ? st.st_uid : owner.uid, gid = preserveOwnership ? st.st_gid : owner.gid
        guard fchown(target, uid, gid) == 0 else { throw SystemError("chown") }
        guard fchmod(target, mode) == 0 else { throw SystemError("chmod") }
        var times = [st.st_atim, st.st_mtim]
        _ = futimens(target, &times)
    }

    static func copyData(from source: Int32, to target: Int32, what: String) throws {
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw SystemError("read \(what)") }
            if n == 0 { return }
            try FileIO.writeAll(fd: target, Array(buffer[0..<n]), what: what)
        }
    }
}

/// Where `TreeCopy` reports what it left out.
enum CopyWarnings {
    static func warn(_ message: String) { Diagnostics.warn(message) }
}

#if canImport(Glibc)
import Glibc
#endif
import CArchive
import LinuxSupport

/// `cp CONTAINER:PATH -` and `cp - CONTAINER:PATH`: a file tree as a tar stream (pax format, as
/// docker sends it) and back. Reading treats the stream as hostile: names with "..", absolute
/// names, and entries that would be written through a symlink are refused, and every file is
/// created one component at a time relative to its parent's descriptor (`TreeCopy.openChild`).
enum TarStream {
    static func message(_ archive: OpaquePointer?) -> String {
        archive_error_string(archive).map { String(cString: $0) } ?? "unknown libarchive error"
    }

    // MARK: writing

    /// Writes `sourceName` in `sourceDir` (recursively) to `fd` as `archiveName`.
    static func write(from sourceDir: Int32, _ sourceName: String, as archiveName: String, to fd: Int32, hostSafe: Bool) throws {
        guard let archive = archive_write_new() else { throw EngineError.startFailed("libarchive: out of memory") }
        defer { archive_write_free(archive) }
        archive_write_set_format_pax_restricted(archive)
        guard archive_write_open_fd(archive, fd) == ARCHIVE_OK else {
            throw EngineError.invalidOption("cannot write the tar stream: \(message(archive))")
        }
        try add(archive, sourceDir, sourceName, archiveName, hostSafe: hostSafe)
        guard archive_write_close(archive) == ARCHIVE_OK else {
            throw EngineError.invalidOption("cannot finish the tar stream: \(message(archive))")
        }
    }

    private static func add(_ archive: OpaquePointer, _ dir: Int32, _ name: String, _ path: String, hostSafe: Bool) throws {
        guard let st = TreeCopy.lstatAt(dir, name) else { throw SystemError("stat \(path)") }
        guard let entry = archive_entry_new() else { throw EngineError.startFailed("libarchive: out of memory") }
        defer { archive_entry_free(entry) }
        let type = st.st_mode & S_IFMT
        archive_entry_set_pathname(entry, path)
        archive_entry_set_mode(entry, st.st_mode & (hostSafe ? ~mode_t(0o6000) : ~mode_t(0)))
        archive_entry_set_uid(entry, Int64(st.st_uid))
        archive_entry_set_gid(entry, Int64(st.st_gid))
        archive_entry_set_mtime(entry, st.st_mtim.tv_sec, st.st_mtim.tv_nsec)
        var file: Int32 = -1
        defer { if file >= 0 { close(file) } }
        switch type {
        case S_IFREG:
            file = try TreeCopy.openChild(dir, name, flags: O_RDONLY)
            archive_entry_set_size(entry, Int64(st.st_size))
        case S_IFLNK:
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = readlinkat(dir, name, &buffer, buffer.count - 1)
            guard n >= 0 else { throw SystemError("readlink \(path)") }
            archive_entry_set_symlink(entry, String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self))
        case S_IFDIR, S_IFIFO:
            break
        case S_IFCHR, S_IFBLK:
            archive_entry_set_rdev(entry, st.st_rdev)
        default:
            return  // sockets
        }
        guard archive_write_header(archive, entry) == ARCHIVE_OK else {
            throw EngineError.invalidOption("cannot write \(path) to the tar stream: \(message(archive))")
        }
        if file >= 0 {
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            var left = Int64(st.st_size)
            while left > 0 {
                let n = buffer.withUnsafeMutableBytes { read(file, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw SystemError("read \(path)") }
                let chunk = Int(min(Int64(n), left))
                let written = buffer.withUnsafeBytes { archive_write_data(archive, $0.baseAddress, chunk) }
                guard written == chunk else { throw EngineError.invalidOption("cannot write \(path) to the tar stream: \(message(archive))") }
                left -= Int64(chunk)
            }
        }
        if type == S_IFDIR {
            let child = try TreeCopy.openChild(dir, name, flags: O_RDONLY | O_DIRECTORY)
            defer { close(child) }
            for entryName in try TreeCopy.names(in: child) {
                try add(archive, child, entryName, path + "/" + entryName, hostSafe: hostSafe)
            }
        }
    }

    // MARK: reading

    /// Extracts the tar stream on `fd` into the directory `target`.
    static func extract(from fd: Int32, into target: Int32, preserveOwnership: Bool) throws {
        guard let archive = archive_read_new() else { throw EngineError.startFailed("libarchive: out of memory") }
        defer { archive_read_free(archive) }
        archive_read_support_format_tar(archive)
        archive_read_support_filter_all(archive)
        guard archive_read_open_fd(archive, fd, 1 << 16) == ARCHIVE_OK else {
            throw EngineError.invalidOption("cannot read the tar stream: \(message(archive))")
        }
        var entry: OpaquePointer?
        while true {
            let status = archive_read_next_header(archive, &entry)
            if status == ARCHIVE_EOF { return }
            if status == ARCHIVE_RETRY { continue }
            guard status == ARCHIVE_OK || status == ARCHIVE_WARN, let entry else {
                throw EngineError.invalidOption("not a valid tar stream: \(message(archive))")
            }
            try extract(entry, archive: archive, into: target, preserveOwnership: preserveOwnership)
        }
    }

    /// The entry's name as safe components, or an error for a hostile one.
    static func components(_ raw: String) throws -> [String] {
        guard !raw.hasPrefix("/") else { throw EngineError.invalidOption("the tar stream has an absolute name '\(raw)': refused") }
        let parts = raw.split(separator: "/").map(String.init).filter { $0 != "." }
        guard !parts.contains("..") else { throw EngineError.invalidOption("the tar stream has a name with '..': '\(raw)': refused") }
        return parts
    }

    /// Opens (creating when missing) the directories `parts` under `root`, never through a symlink.
    static func openDirectories(_ parts: ArraySlice<String>, under root: Int32) throws -> Int32 {
        var current = try sysCall("dup") { dup(root) }
        for part in parts {
            if mkdirat(current, part, 0o755) != 0 && errno != EEXIST {
                close(current)
                throw SystemError("mkdir \(part)")
            }
            let next: Int32
            do { next = try TreeCopy.openChild(current, part, flags: O_RDONLY | O_DIRECTORY) } catch {
                close(current)
                throw EngineError.invalidOption("cannot extract below \(part): it is not a directory (a symlink is never followed)")
            }
            close(current)
            current = next
        }
        return current
    }

    private static func extract(_ entry: OpaquePointer, archive: OpaquePointer, into root: Int32, preserveOwnership: Bool) throws {
        guard let rawName = archive_entry_pathname(entry) else { return }
        let name = String(cString: rawName)
        let parts = try components(name)
        guard let last = parts.last else { return }  // "./": the target itself
        let parent = try openDirectories(parts.dropLast(), under: root)
        defer { close(parent) }
        let mode = archive_entry_perm(entry) & 0o7777
        let uid = preserveOwnership ? uid_t(clamping: archive_entry_uid(entry)) : 0
        let gid = preserveOwnership ? gid_t(clamping: archive_entry_gid(entry)) : 0
        if let hardlink = archive_entry_hardlink(entry) {
            let linkParts = try components(String(cString: hardlink))
            guard let linkName = linkParts.last else { return }
            let linkParent = try openDirectories(linkParts.dropLast(), under: root)
            defer { close(linkParent) }
            unlinkat(parent, last, 0)
            guard linkat(linkParent, linkName, parent, last, 0) == 0 else { throw SystemError("link \(name)") }
            return
        }
        let type = archive_entry_filetype(entry) & S_IFMT
        if let existing = TreeCopy.lstatAt(parent, last), (existing.st_mode & S_IFMT) != S_IFDIR || type != S_IFDIR {
            if (existing.st_mode & S_IFMT) == S_IFDIR {
                throw EngineError.invalidOption("cannot overwrite directory \(name) with a non-directory")
            }
            unlinkat(parent, last, 0)
        }
        switch type {
        case S_IFDIR:
            if mkdirat(parent, last, 0o700) != 0 && errno != EEXIST { throw SystemError("mkdir \(name)") }
            let fd = try TreeCopy.openChild(parent, last, flags: O_RDONLY | O_DIRECTORY)
            defer { close(fd) }
            _ = fchown(fd, uid, gid)
            _ = fchmod(fd, mode)
        case S_IFREG:
            let fd = try TreeCopy.openChild(parent, last, flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o600)
            defer { close(fd) }
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let n = buffer.withUnsafeMutableBytes { archive_read_data(archive, $0.baseAddress, $0.count) }
                guard n >= 0 else { throw EngineError.invalidOption("the tar stream is truncated at \(name): \(message(archive))") }
                if n == 0 { break }
                try FileIO.writeAll(fd: fd, Array(buffer[0..<n]), what: name)
            }
            _ = fchown(fd, uid, gid)
            _ = fchmod(fd, mode)
            var times = [timespec(tv_sec: archive_entry_mtime(entry), tv_nsec: archive_entry_mtime_nsec(entry)),
                         timespec(tv_sec: archive_entry_mtime(entry), tv_nsec: archive_entry_mtime_nsec(entry))]
            _ = futimens(fd, &times)
        case S_IFLNK:
            guard let target = archive_entry_symlink(entry) else { return }
            guard symlinkat(target, parent, last) == 0 else { throw SystemError("symlink \(name)") }
            _ = fchownat(parent, last, uid, gid, AT_SYMLINK_NOFOLLOW)
        case S_IFIFO, S_IFCHR, S_IFBLK:
            guard mknodat(parent, last, type | mode, dev_t(archive_entry_rdev(entry))) == 0 else { throw SystemError("mknod \(name)") }
            _ = fchownat(parent, last, uid, gid, AT_SYMLINK_NOFOLLOW)
        default:
            return
        }
    }
}

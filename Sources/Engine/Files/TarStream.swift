#if canImport(Glibc)
import Glibc
#endif
import AgentProtocol
import CArchive
import CShim
import ImageStore
import LinuxSupport

/// `cp CONTAINER:PATH -` and `cp - CONTAINER:PATH`: a file tree as a tar stream (pax format, as
/// docker sends it) and back. Reading treats the stream as hostile: what each entry may become
/// is decided by `TarEntryPolicy.copyIntoContainer` (the rules image layers are unpacked by,
/// with docker cp's ownership), entries that would be written through a symlink are refused,
/// and every file is created one component at a time relative to its parent's descriptor
/// (`TreeCopy.openChild`).
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
        var file: OwnedFD?
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
        if let file = file?.raw {
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            var left = Int64(st.st_size)
            while left > 0 {
                let n = buffer.withUnsafeMutableBytes { read(file, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw SystemError("read \(path)") }
                let chunk = Int(min(Int64(n), left))
                let written = buffer.withUnsafeBytes { archive_write_data(archive, $0.baseAddress, chunk) }
                guard written == chunk else {
                    throw EngineError.invalidOption("cannot write \(path) to the tar stream: \(message(archive))")
                }
                left -= Int64(chunk)
            }
        }
        if type == S_IFDIR {
            let child = try TreeCopy.openChild(dir, name, flags: O_RDONLY | O_DIRECTORY)
            for entryName in try TreeCopy.names(in: child.raw) {
                try add(archive, child.raw, entryName, path + "/" + entryName, hostSafe: hostSafe)
            }
        }
    }

    // MARK: reading

    /// Extracts the tar stream on `fd` into the directory `target`; `archive` is `cp -a`.
    static func extract(from fd: Int32, into target: Int32, archive keepOwners: Bool) throws {
        try extract(from: fd, into: target, policy: .copyIntoContainer(archive: keepOwners))
    }

    /// Extracts the tar stream on `fd` into the directory `target` under `policy`; with `rename`,
    /// the archive's root takes that name (`ArchiveRoot`: docker cp's naming when the destination
    /// does not exist yet).
    static func extract(from fd: Int32, into target: Int32, policy: TarEntryPolicy, rename: String? = nil) throws {
        var naming = ArchiveRoot(rename: rename)
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
            guard var fields = TarEntryFields(entry) else {
                throw EngineError.invalidOption("the tar stream has an entry without a name (or one that is not text): refused")
            }
            if rename != nil {
                do {
                    fields.name = try naming.map(fields.name)
                    if let link = fields.hardlink { fields.hardlink = try naming.map(link) }
                } catch {
                    throw EngineError.invalidOption("the tar stream's \(error): refused")
                }
                if fields.name.isEmpty { fields.name = "." }
            }
            let plan: TarEntryPlan
            do { plan = try policy.plan(fields) } catch {
                throw EngineError.invalidOption("the tar stream's \(error): refused")
            }
            try extract(plan, entry: entry, archive: archive, into: target)
        }
    }

    /// Opens (creating when missing) the directory `path` under `root`, never through a symlink.
    static func openDirectory(_ path: String, under root: Int32, create: Bool) throws -> OwnedFD {
        var current = try OwnedFD("dup") { skiff_fcntl_int(root, F_DUPFD_CLOEXEC, 0) }
        for part in path.split(separator: "/").map(String.init) {
            if create && mkdirat(current.raw, part, 0o755) != 0 && errno != EEXIST {
                throw SystemError("mkdir \(part)")
            }
            do {
                current = try TreeCopy.openChild(current.raw, part, flags: O_RDONLY | O_DIRECTORY)
            } catch {
                throw EngineError.invalidOption("cannot extract below \(part): it is not a directory (a symlink is never followed)")
            }
        }
        return current
    }

    private static func extract(_ plan: TarEntryPlan, entry: OpaquePointer, archive: OpaquePointer, into root: Int32) throws {
        // "./": the target itself, which keeps its own owner and mode (docker would apply the
        // entry's to it; a stream must not chmod a container's /tmp).
        guard let path = plan.path else { return }
        let name = path.full, last = path.name
        let parentFD = try openDirectory(path.parent, under: root, create: true)
        let parent = parentFD.raw
        if case .hardlink(let target) = plan.kind {
            // The target must already be in the container (or earlier in the stream); its
            // directories are not created for it.
            let linkParent = try openDirectory(target.parent, under: root, create: false)
            if let existing = TreeCopy.lstatAt(parent, last), (existing.st_mode & S_IFMT) == S_IFDIR {
                throw EngineError.invalidOption("cannot overwrite directory \(name) with a non-directory")
            }
            unlinkat(parent, last, 0)
            guard linkat(linkParent.raw, target.name, parent, last, 0) == 0 else { throw SystemError("link \(name) to \(target.full)") }
            return
        }
        if case .skipped = plan.kind { return }
        if let existing = TreeCopy.lstatAt(parent, last), (existing.st_mode & S_IFMT) != S_IFDIR || plan.kind != .directory {
            if (existing.st_mode & S_IFMT) == S_IFDIR {
                throw EngineError.invalidOption("cannot overwrite directory \(name) with a non-directory")
            }
            unlinkat(parent, last, 0)
        }
        let owner = plan.owner
        switch plan.kind {
        case .directory:
            if mkdirat(parent, last, 0o700) != 0 && errno != EEXIST { throw SystemError("mkdir \(name)") }
            let fd = try TreeCopy.openChild(parent, last, flags: O_RDONLY | O_DIRECTORY)
            if let owner { try sysCall("chown \(name)") { fchown(fd.raw, owner.uid, owner.gid) } }
            try sysCall("chmod \(name)") { fchmod(fd.raw, plan.mode) }
        case .regular:
            let fd = try TreeCopy.openChild(parent, last, flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o600)
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let n = buffer.withUnsafeMutableBytes { archive_read_data(archive, $0.baseAddress, $0.count) }
                guard n >= 0 else { throw EngineError.invalidOption("the tar stream is truncated at \(name): \(message(archive))") }
                if n == 0 { break }
                try FileIO.writeAll(fd: fd.raw, Array(buffer[0..<n]), what: name)
            }
            if let owner { try sysCall("chown \(name)") { fchown(fd.raw, owner.uid, owner.gid) } }
            try sysCall("chmod \(name)") { fchmod(fd.raw, plan.mode) }
            var times = [
                timespec(tv_sec: archive_entry_mtime(entry), tv_nsec: archive_entry_mtime_nsec(entry)),
                timespec(tv_sec: archive_entry_mtime(entry), tv_nsec: archive_entry_mtime_nsec(entry)),
            ]
            _ = futimens(fd.raw, &times)
            try fd.close(what: name)
        case .symlink(let target):
            guard symlinkat(target, parent, last) == 0 else { throw SystemError("symlink \(name)") }
            if let owner { try sysCall("chown \(name)") { fchownat(parent, last, owner.uid, owner.gid, AT_SYMLINK_NOFOLLOW) } }
        case .device(let type, let device):
            try makeNode(parent, last, type: type, device: device, plan: plan, name: name)
        case .fifo:
            try makeNode(parent, last, type: S_IFIFO, device: 0, plan: plan, name: name)
        case .hardlink, .skipped, .whiteout, .opaqueDirectory:
            return  // handled above, or not planned for a copy (whiteouts are plain names here)
        }
    }

    /// A device node or FIFO, created 0600 and then given its owner and mode (the umask must
    /// not change the mode the stream asks for).
    private static func makeNode(_ parent: Int32, _ last: String, type: mode_t, device: dev_t, plan: TarEntryPlan, name: String) throws {
        try sysCall("mknod \(name)") { mknodat(parent, last, type | 0o600, device) }
        if let owner = plan.owner { try sysCall("chown \(name)") { fchownat(parent, last, owner.uid, owner.gid, AT_SYMLINK_NOFOLLOW) } }
        try sysCall("chmod \(name)") { fchmodat(parent, last, plan.mode, 0) }
    }
}

#if canImport(Glibc)
import Glibc
#endif
import CArchive
import CShim
import LinuxSupport

/// An overlayfs upper directory (what a build step's container changed) as an OCI layer tar:
/// files, directories, symlinks and hardlinks as they are, with owners, modes and times; a
/// whiteout (a 0/0 character device: the name was deleted) becomes an empty `.wh.NAME`, and an
/// opaque directory (`trusted.overlay.opaque` or `user.overlay.opaque` is "y": it replaced the
/// lower one) gets a `.wh..wh..opq` entry inside it. The tree was made by the container, so it
/// is walked one component at a time from descriptors (`ConfinedOpen`, no symlink followed).
public enum LayerDiff {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Writes the tar of `upper` to `fd` (pax format, entries in name order).
    public static func write(upper: String, to fd: Int32) throws {
        guard let archive = archive_write_new() else { throw Failure(description: "libarchive: out of memory") }
        defer { archive_write_free(archive) }
        archive_write_set_format_pax_restricted(archive)
        guard archive_write_open_fd(archive, fd) == ARCHIVE_OK else {
            throw Failure(description: "cannot write the layer: \(message(archive))")
        }
        try writeEntries(archive, upper: upper)
    }

    /// Where `write(upper:into:)` sends the tar, and the first error the sink threw.
    private final class Sink {
        let body: (UnsafeRawBufferPointer) throws -> Void
        var error: (any Error)?
        init(_ body: @escaping (UnsafeRawBufferPointer) throws -> Void) { self.body = body }
    }

    /// Writes the tar of `upper` through `sink` (a blob being stored, say).
    public static func write(upper: String, into sink: @escaping (UnsafeRawBufferPointer) throws -> Void) throws {
        guard let archive = archive_write_new() else { throw Failure(description: "libarchive: out of memory") }
        defer { archive_write_free(archive) }
        archive_write_set_format_pax_restricted(archive)
        let box = Sink(sink)
        let context = Unmanaged.passRetained(box)
        defer { context.release() }
        let opened = archive_write_open(
            archive, context.toOpaque(), nil,
            { _, context, buffer, length in
                let box = Unmanaged<Sink>.fromOpaque(context!).takeUnretainedValue()
                do {
                    try box.body(UnsafeRawBufferPointer(start: buffer, count: length))
                    return length
                } catch {
                    box.error = error
                    return -1
                }
            }, nil)
        guard opened == ARCHIVE_OK else { throw Failure(description: "cannot write the layer: \(message(archive))") }
        do {
            try writeEntries(archive, upper: upper)
        } catch {
            throw box.error ?? error
        }
        if let error = box.error { throw error }
    }

    private static func writeEntries(_ archive: OpaquePointer, upper: String) throws {
        let root = try OwnedFD("open \(upper)") { open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        var links: [String: String] = [:]
        for name in try names(in: root.raw) {
            try add(archive, root.raw, name, name, links: &links)
        }
        guard archive_write_close(archive) == ARCHIVE_OK else {
            throw Failure(description: "cannot finish the layer: \(message(archive))")
        }
    }

    static func message(_ archive: OpaquePointer) -> String {
        archive_error_string(archive).map { String(cString: $0) } ?? "unknown libarchive error"
    }

    static func names(in directory: Int32) throws -> [String] {
        let copy = try OwnedFD("dup") { fcntl(directory, F_DUPFD_CLOEXEC, 0) }
        guard let dir = fdopendir(copy.raw) else { throw SystemError("read directory") }
        _ = copy.take()
        defer { closedir(dir) }
        var result: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            if name != "." && name != ".." { result.append(name) }
        }
        return result.sorted()
    }

    /// The names in the directory at `path`.
    static func names(inDirectory path: String) throws -> [String] {
        let directory = try OwnedFD("open \(path)") { open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        return try names(in: directory.raw)
    }

    static func openChild(_ directory: Int32, _ name: String, flags: Int32) throws -> OwnedFD {
        try ConfinedOpen.open(
            name, in: directory, flags: flags | O_NOFOLLOW | O_CLOEXEC, mode: 0, resolve: [.beneath, .noSymlinks, .noMagicLinks],
            what: "open \(name)")
    }

    private static func header(
        _ archive: OpaquePointer, _ path: String, mode: mode_t, st: stat?, configure: (OpaquePointer) -> Void = { _ in }
    ) throws {
        guard let entry = archive_entry_new() else { throw Failure(description: "libarchive: out of memory") }
        defer { archive_entry_free(entry) }
        archive_entry_set_pathname(entry, path)
        archive_entry_set_mode(entry, mode)
        if let st {
            archive_entry_set_uid(entry, Int64(st.st_uid))
            archive_entry_set_gid(entry, Int64(st.st_gid))
            archive_entry_set_mtime(entry, st.st_mtim.tv_sec, st.st_mtim.tv_nsec)
        }
        configure(entry)
        guard archive_write_header(archive, entry) == ARCHIVE_OK else {
            throw Failure(description: "cannot write \(path) to the layer: \(message(archive))")
        }
    }

    private static func add(_ archive: OpaquePointer, _ dir: Int32, _ name: String, _ path: String, links: inout [String: String]) throws {
        var st = stat()
        guard fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { throw SystemError("stat \(path)") }
        let type = st.st_mode & S_IFMT
        if OverlayMarks.isWhiteout(st) {
            let parent = path.contains("/") ? String(path[...path.lastIndex(of: "/")!]) : ""
            try header(archive, parent + ".wh." + name, mode: S_IFREG | 0o644, st: st) { archive_entry_set_size($0, 0) }
            return
        }
        if type != S_IFDIR, st.st_nlink > 1 {
            let key = "\(st.st_dev):\(st.st_ino)"
            if let first = links[key] {
                try header(archive, path, mode: st.st_mode, st: st) { entry in
                    archive_entry_set_hardlink(entry, first)
                    archive_entry_set_size(entry, 0)
                }
                return
            }
            links[key] = path
        }
        switch type {
        case S_IFREG:
            let file = try openChild(dir, name, flags: O_RDONLY)
            try header(archive, path, mode: st.st_mode, st: st) { archive_entry_set_size($0, Int64(st.st_size)) }
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            var left = Int64(st.st_size)
            while left > 0 {
                let n = buffer.withUnsafeMutableBytes { read(file.raw, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw SystemError("read \(path) (it changed while the layer was written)") }
                let chunk = Int(min(Int64(n), left))
                let written = buffer.withUnsafeBytes { archive_write_data(archive, $0.baseAddress, chunk) }
                guard written == chunk else { throw Failure(description: "cannot write \(path) to the layer: \(message(archive))") }
                left -= Int64(chunk)
            }
        case S_IFLNK:
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = readlinkat(dir, name, &buffer, buffer.count - 1)
            guard n >= 0 else { throw SystemError("readlink \(path)") }
            let target = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            try header(archive, path, mode: st.st_mode, st: st) { archive_entry_set_symlink($0, target) }
        case S_IFDIR:
            let child = try openChild(dir, name, flags: O_RDONLY | O_DIRECTORY)
            try header(archive, path + "/", mode: st.st_mode, st: st)
            if OverlayMarks.isOpaque(directory: child.raw) {
                try header(archive, path + "/.wh..wh..opq", mode: S_IFREG | 0o644, st: st) { archive_entry_set_size($0, 0) }
            }
            for entryName in try names(in: child.raw) {
                try add(archive, child.raw, entryName, path + "/" + entryName, links: &links)
            }
        case S_IFIFO:
            try header(archive, path, mode: st.st_mode, st: st)
        case S_IFCHR, S_IFBLK:
            try header(archive, path, mode: st.st_mode, st: st) { archive_entry_set_rdev($0, st.st_rdev) }
        default:
            return  // sockets have no place in a layer
        }
    }
}

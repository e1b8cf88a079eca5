#if canImport(Glibc)
import Glibc
#endif
import CArchive
import Engine
import LinuxSupport

/// The changes of a micro-VM container (`diff`, `commit`): its guest's agent writes them as an
/// OCI layer tar (whiteouts as `.wh.` entries), which the host keeps in an unlinked file of the
/// container's directory while it reads it. The tar is the guest's, so hostile: `diff` only lists
/// its names (dropping any that climb with ".."), and `commit` stores it as a layer that the image
/// store unpacks under its layer rules, as it does a pulled one.
enum MicroVMChanges {
    /// Runs `body` with a descriptor of the changes' tar, read from its start.
    static func withTar<T>(engine: Engine, record: EngineContainer, _ body: (Int32) throws -> T) throws -> T {
        let path = engine.store.directory(for: record.id) + "/.changes-\(getpid()).tar"
        let file = try OwnedFD("create \(path)") { open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600) }
        unlink(path)
        try engine.microVMChanges(record, to: file.raw)
        guard lseek(file.raw, 0, SEEK_SET) == 0 else { throw SystemError("rewind the changes of \(record.name)") }
        return try body(file.raw)
    }

    /// The entry names of the tar on `fd`, each as an absolute path in the container.
    static func paths(in fd: Int32) throws -> [String] {
        guard let archive = archive_read_new() else { throw SystemError("libarchive", errno: ENOMEM) }
        defer { archive_read_free(archive) }
        archive_read_support_format_tar(archive)
        guard archive_read_open_fd(archive, fd, 1 << 16) == ARCHIVE_OK else {
            throw ImageBuilder.Failure("the guest's changes are not a tar stream: \(LayerDiff.message(archive))")
        }
        var paths: [String] = []
        var entry: OpaquePointer?
        while true {
            let status = archive_read_next_header(archive, &entry)
            if status == ARCHIVE_EOF { break }
            if status == ARCHIVE_RETRY { continue }
            guard status == ARCHIVE_OK || status == ARCHIVE_WARN, let entry, let name = archive_entry_pathname(entry) else {
                throw ImageBuilder.Failure("the guest's changes are not a valid tar stream: \(LayerDiff.message(archive))")
            }
            let parts = String(cString: name).split(separator: "/").filter { $0 != "." }
            guard !parts.isEmpty, !parts.contains("..") else { continue }
            paths.append("/" + parts.joined(separator: "/"))
        }
        return paths
    }

    /// docker's diff of those paths: a `.wh.NAME` is NAME deleted, a `.wh..wh..opq` marks its
    /// directory (listed on its own), anything else is changed when an image layer has it
    /// (`inLower`) and added otherwise.
    static func changes(_ paths: [String], inLower: (String) -> Bool) -> [ContainerDiff.Change] {
        paths.compactMap { path in
            let slash = path.lastIndex(of: "/") ?? path.startIndex
            let parent = String(path[..<slash])
            let name = path[path.index(after: slash)...]
            if name == ".wh..wh..opq" { return nil }
            if name.hasPrefix(".wh.") { return ContainerDiff.Change(kind: "D", path: parent + "/" + name.dropFirst(4)) }
            return ContainerDiff.Change(kind: inLower(path) ? "C" : "A", path: path)
        }
    }
}

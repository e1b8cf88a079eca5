#if canImport(Glibc)
import Glibc
#endif
import CArchive
import ImageStore
import LinuxSupport
import OCISpec

/// ADD's local archives: a source in the context that is a tar (plain, or compressed with gzip,
/// bzip2, xz or zstd) is unpacked at the destination instead of copied, as docker does. The
/// archive is hostile: it is unpacked by the store's `LayerUnpacker` (its `TarEntryPolicy`
/// refuses `..`, absolute names, writes through symlinks and links out of the tree; its budget
/// stops a bomb at the disk's reserve) into a scratch directory, and only then copied into the
/// step's upper directory. A compressed file that is not a tar is copied as it is.
enum AddArchive {
    /// Unpacks `source` (relative to `root`) at `destination` in `upper` when it is a tar
    /// archive and returns true; false when it is an ordinary file (or not a file).
    static func unpackIfArchive(
        _ source: String, in root: Int32, upper: String, destination: String, owner: FileTreeCopy.Owner?, store: ImageStore
    ) throws -> Bool {
        guard
            let file = try? ConfinedOpen.open(
                source, in: root, flags: O_RDONLY | O_NONBLOCK, resolve: [.beneath, .noMagicLinks], what: "open \(source)")
        else { return false }
        var st = stat()
        guard fstat(file.raw, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return false }
        let head = try readHead(file.raw, what: source)
        let kind = ContextArchive.kind(ofHead: head)
        guard kind != .text else { return false }
        let scratch = try ContextArchive.scratchDirectory(store: store, prefix: "add")
        defer { ContextArchive.Received(directory: scratch, dockerfile: nil).remove() }
        var tarPath = "/proc/self/fd/\(file.raw)"
        if kind == .compressed {
            // Decompressed into the scratch directory first: whether it is a tar at all is only
            // known then, and the store's unpacker reads gzip and zstd but not bzip2 or xz.
            let plain = scratch + "/archive.tar"
            guard try decompress(file.raw, to: plain, what: source) else { return false }
            tarPath = plain
        }
        let tree = scratch + "/tree"
        try FileIO.makeDirectories(tree, mode: 0o755)
        var unpacker = LayerUnpacker(layer: try Digest(sha256Hex: String(repeating: "0", count: 64)))
        unpacker.image = "ADD \(source)"
        unpacker.limits = UnpackLimits.fromEnvironment
        do {
            _ = try unpacker.unpack(blobPath: tarPath, into: tree)
        } catch {
            throw ImageBuilder.Failure("ADD \(source): the archive cannot be unpacked: \(error)")
        }
        let treeFD = try OwnedFD("open \(tree)") { open(tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        let target = destination.hasSuffix("/") ? destination : destination + "/"
        try FileTreeCopy.copy(
            "", from: treeFD.raw, to: upper, destination: target, intoDirectory: true, ignore: nil, owner: owner, mode: nil)
        return true
    }

    static func readHead(_ fd: Int32, what: String) throws -> [UInt8] {
        var head = [UInt8](repeating: 0, count: 512)
        var filled = 0
        while filled < head.count {
            let n = head.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + filled, $0.count - filled, off_t(filled)) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw SystemError("read \(what)") }
            if n == 0 { break }
            filled += n
        }
        return Array(head[0..<filled])
    }

    /// Writes the decompressed bytes of `fd` to `path`; false (and nothing kept) when they are
    /// not a tar. Stops with an error at the store's unpack ceiling or the disk's reserve.
    static func decompress(_ fd: Int32, to path: String, what: String) throws -> Bool {
        guard let archive = archive_read_new() else { throw ImageBuilder.Failure("libarchive: out of memory") }
        defer { archive_read_free(archive) }
        archive_read_support_filter_all(archive)
        archive_read_support_format_raw(archive)
        let message = { archive_error_string(archive).map { String(cString: $0) } ?? "unknown libarchive error" }
        let input = try OwnedFD("dup \(what)") { dup(fd) }
        lseek(input.raw, 0, SEEK_SET)
        guard archive_read_open_fd(archive, input.raw, 1 << 16) == ARCHIVE_OK else {
            throw ImageBuilder.Failure("ADD \(what): cannot read the archive: \(message())")
        }
        var entry: OpaquePointer?
        guard archive_read_next_header(archive, &entry) == ARCHIVE_OK else {
            throw ImageBuilder.Failure("ADD \(what): cannot decompress the archive: \(message())")
        }
        let output = try OwnedFD("create \(path)") { open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600) }
        let limits = UnpackLimits.fromEnvironment
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var total: Int64 = 0
        var checked: Int64 = 0
        while true {
            let n = buffer.withUnsafeMutableBytes { archive_read_data(archive, $0.baseAddress, $0.count) }
            if n == Int(ARCHIVE_RETRY) { continue }
            guard n >= 0 else { throw ImageBuilder.Failure("ADD \(what): the archive is damaged: \(message())") }
            if n == 0 { break }
            if total == 0 {
                // The first block decides: a tar has "ustar" at 257 (a shorter first read is rare
                // and then only the copy's content is at stake, not safety).
                guard n >= 262, Array(buffer[257..<262]) == Array("ustar".utf8) else { return false }
            }
            total += Int64(n)
            if total > limits.maxLayerBytes {
                throw ImageBuilder.Failure("ADD \(what): the archive decompresses to more than \(limits.maxLayerBytes) bytes: refused")
            }
            if total - checked > 64 << 20 {
                checked = total
                var vfs = statvfs()
                if fstatvfs(output.raw, &vfs) == 0, Int64(vfs.f_bavail) * Int64(vfs.f_frsize) < limits.reserveBytes {
                    throw ImageBuilder.Failure(
                        "ADD \(what): the disk is nearly full while decompressing the archive: free space and build again")
                }
            }
            try FileIO.writeAll(fd: output.raw, n == buffer.count ? buffer : Array(buffer[0..<n]), what: path)
        }
        return total > 0
    }
}

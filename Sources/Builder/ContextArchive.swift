#if canImport(Glibc)
import Glibc
#endif
import ImageStore
import LinuxSupport
import OCISpec

/// A build context that arrives as a stream (`skiff build -`, `POST /build`): a tar (plain,
/// gzip or zstd) unpacked into a directory of the builder's by the store's own unpacker, under
/// its rules for hostile entries (`..`, absolute names, writes through symlinks, links out of
/// the tree are refused; a stream that outgrows the disk stops at its reserve), or a Dockerfile
/// alone.
public enum ContextArchive {
    /// What the first bytes of a stream say it is.
    public enum Kind: Equatable, Sendable {
        case tar
        case compressed
        /// Neither: a Dockerfile on its own.
        case text
    }

    public static func kind(ofHead head: [UInt8]) -> Kind {
        let magics: [[UInt8]] = [
            [0x1f, 0x8b], Array("BZh".utf8), [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], [0x28, 0xb5, 0x2f, 0xfd],
        ]
        if magics.contains(where: { head.count >= $0.count && Array(head[0..<$0.count]) == $0 }) { return .compressed }
        if head.count >= 262, Array(head[257..<262]) == Array("ustar".utf8) { return .tar }
        return .text
    }

    /// Reads `fd` to its end into the file `path` (made 0600); returns the first 512 bytes.
    public static func save(from fd: Int32, to path: String) throws -> [UInt8] {
        let file = try OwnedFD("create \(path)") { open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600) }
        var head: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw SystemError("read the build context stream") }
            if n == 0 { break }
            if head.count < 512 { head += buffer[0..<min(n, 512 - head.count)] }
            try FileIO.writeAll(fd: file.raw, n == buffer.count ? buffer : Array(buffer[0..<n]), what: path)
        }
        return head
    }

    /// Unpacks the archive at `archive` into the existing empty directory `directory`.
    /// Compression other than gzip and zstd (the store's) is refused with what to do instead.
    public static func unpack(archive: String, into directory: String) throws {
        var head = [UInt8](repeating: 0, count: 6)
        let file = try OwnedFD("open \(archive)") { open(archive, O_RDONLY | O_CLOEXEC) }
        let n = head.withUnsafeMutableBytes { read(file.raw, $0.baseAddress, $0.count) }
        if n >= 3, Array(head[0..<3]) == Array("BZh".utf8) || (n >= 6 && head == [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]) {
            throw ImageBuilder.Failure(
                "the build context is compressed with bzip2 or xz, which skiff does not read: send it plain, gzip or zstd")
        }
        // The digest only names the stream in the unpacker's messages.
        var unpacker = LayerUnpacker(layer: try Digest(sha256Hex: String(repeating: "0", count: 64)))
        unpacker.image = "the build context"
        unpacker.limits = UnpackLimits.fromEnvironment
        unpacker.preserveOwnership = getuid() == 0
        do {
            _ = try unpacker.unpack(blobPath: archive, into: directory)
        } catch {
            throw ImageBuilder.Failure("the build context is not a tar stream skiff can take: \(error)")
        }
    }

    /// A context received from a stream: its directory (removed by `remove`) and, when the
    /// stream was a Dockerfile alone, that Dockerfile (the directory is empty then).
    public struct Received: Sendable {
        public let directory: String
        public let dockerfile: String?

        public func remove() {
            FileIO.removeTree(directory)
            InterruptCleanup.unregister(directory)
        }
    }

    /// Takes the stream saved at `streamFile` (deleted here) as a context: a directory of its
    /// own under the store's `build-tmp/`, on the store's filesystem.
    public static func receive(streamFile: String, head: [UInt8], store: ImageStore) throws -> Received {
        defer { unlink(streamFile) }
        let directory = try scratchDirectory(store: store, prefix: "context")
        do {
            switch kind(ofHead: head) {
            case .text:
                let text = String(decoding: try FileIO.read(streamFile), as: UTF8.self)
                return Received(directory: directory, dockerfile: text)
            case .tar, .compressed:
                try unpack(archive: streamFile, into: directory)
                return Received(directory: directory, dockerfile: nil)
            }
        } catch {
            Received(directory: directory, dockerfile: nil).remove()
            throw error
        }
    }

    /// Saves what `fd` sends (stdin) and takes it as a context.
    public static func receive(from fd: Int32, store: ImageStore) throws -> Received {
        let parent = store.root + "/build-tmp"
        try FileIO.makeDirectories(parent, mode: 0o700)
        let streamFile = "\(parent)/stream-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        InterruptCleanup.register(streamFile)
        defer { InterruptCleanup.unregister(streamFile) }
        let head: [UInt8]
        do {
            head = try save(from: fd, to: streamFile)
        } catch {
            unlink(streamFile)
            throw error
        }
        return try receive(streamFile: streamFile, head: head, store: store)
    }

    /// A new empty directory under the store's `build-tmp/`, removed if the command is interrupted.
    public static func scratchDirectory(store: ImageStore, prefix: String) throws -> String {
        let parent = store.root + "/build-tmp"
        try FileIO.makeDirectories(parent, mode: 0o700)
        var template = Array("\(parent)/\(prefix)-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw SystemError("mkdtemp in \(parent)") }
        let path = String(cString: made)
        InterruptCleanup.register(path)
        return path
    }

    /// A file of a received context (hostile: opened beneath it, no symlink out of it).
    public static func readFile(_ name: String, in directory: String) throws -> [UInt8] {
        let root = try OwnedFD("open \(directory)") { open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        let file = try ConfinedOpen.open(name, in: root.raw, flags: O_RDONLY, resolve: [.beneath, .noMagicLinks], what: "open \(name)")
        return try FileIO.readAll(fd: file.raw, what: name)
    }
}

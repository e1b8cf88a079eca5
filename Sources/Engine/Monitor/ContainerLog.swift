#if canImport(Glibc)
import Glibc
#endif
import ContainerRuntime
import LinuxSupport

/// One line of a container's log in docker's json-file format.
public struct LogEntry: Codable, Sendable, Equatable {
    public var log: String
    public var stream: String
    public var time: String

    public init(log: String, stream: String, time: String) {
        self.log = log
        self.stream = stream
        self.time = time
    }
}

/// Writes the container's output as JSON lines, one per line of output (a partial line is held
/// until its newline, a size cap or the end), as docker's json-file driver does, and rotates the
/// file by `LogConfig` (`container.log` becomes `container.log.1`, the oldest beyond max-file
/// goes), so a long-running container's log never grows past max-size times max-file.
final class ContainerLogWriter {
    private var fd: Int32
    private let path: String?
    private let config: LogConfig
    private var size: Int64 = 0
    private var pending: [String: [UInt8]] = [:]
    private static let maxLine = 16 * 1024

    /// `path` is where `fd` was opened (needed to rotate); without it the file only grows.
    init(fd: Int32, path: String? = nil, config: LogConfig = .jsonFile) {
        self.fd = fd
        self.path = path
        self.config = config
        var st = stat()
        if fstat(fd, &st) == 0 { size = Int64(st.st_size) }
    }

    deinit {
        // The first descriptor is its opener's; those of rotations are ours.
        if rotated { close(fd) }
    }

    private var rotated = false

    func append(_ bytes: ArraySlice<UInt8>, stream: String) {
        var buffer = pending[stream, default: []]
        buffer.append(contentsOf: bytes)
        var start = 0
        var index = 0
        while index < buffer.count {
            if buffer[index] == UInt8(ascii: "\n") || index - start + 1 >= Self.maxLine {
                emit(buffer[start...index], stream: stream)
                start = index + 1
            }
            index += 1
        }
        pending[stream] = Array(buffer[start...])
    }

    func flush() {
        for (stream, bytes) in pending where !bytes.isEmpty { emit(bytes[...], stream: stream) }
        pending = [:]
    }

    private func emit(_ line: ArraySlice<UInt8>, stream: String) {
        let entry = LogEntry(log: String(decoding: line, as: UTF8.self), stream: stream, time: Timestamp.now())
        guard var bytes = try? RuntimeJSON.encode(entry) else { return }
        bytes.append(UInt8(ascii: "\n"))
        if let maxSize = config.maxSize, size > 0, size + Int64(bytes.count) > maxSize { rotate() }
        if (try? FileIO.writeAll(fd: fd, bytes, what: "container log")) != nil { size += Int64(bytes.count) }
    }

    /// container.log.(N-1) -> .N, ..., container.log -> .1, a new container.log; with max-file 1
    /// the full file is dropped. Readers following the old file see its inode go and reopen.
    private func rotate() {
        guard let path else { return }
        let keep = config.maxFile - 1
        if keep > 0 {
            unlink(ContainerLogFiles.rotated(path, index: keep))
            for index in stride(from: keep - 1, through: 1, by: -1) {
                rename(ContainerLogFiles.rotated(path, index: index), ContainerLogFiles.rotated(path, index: index + 1))
            }
            rename(path, ContainerLogFiles.rotated(path, index: 1))
        } else {
            unlink(path)
        }
        let next = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
        guard next >= 0 else { return }  // keep writing to the old (unlinked or renamed) file
        if rotated { close(fd) }
        fd = next
        rotated = true
        size = 0
    }
}

/// Reads a log file's complete lines incrementally from an open descriptor (for `logs -f` and
/// for a foreground `run`, which follows the log the monitor writes).
/// Given the file's path, a reader follows rotation: at the end of its file, when the path names
/// another file now, it finishes the old one and goes on in the new one from its start.
public final class ContainerLogReader {
    private var fd: Int32
    private let path: String?
    /// A descriptor the reader opened itself after a rotation (closed by it); -1 before.
    private var ownFD: Int32 = -1
    private var partial: [UInt8] = []

    public init(fd: Int32, path: String? = nil) {
        self.fd = fd
        self.path = path
    }

    deinit {
        if ownFD >= 0 { close(ownFD) }
    }

    /// The entries completed since the last call.
    public func readAvailable() -> [LogEntry] {
        var entries: [LogEntry] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, 65536) }
            if n < 0 && errno == EINTR { continue }
            if n > 0 {
                partial.append(contentsOf: chunk[0..<n])
                continue
            }
            guard let path, rotatedAway(path) else { break }
            let next = open(nextFile(after: path), O_RDONLY | O_CLOEXEC)
            guard next >= 0 else { break }
            if ownFD >= 0 { close(ownFD) }
            (fd, ownFD) = (next, next)
        }
        var start = 0
        for index in partial.indices where partial[index] == UInt8(ascii: "\n") {
            if let entry = try? RuntimeJSON.decode(LogEntry.self, from: Array(partial[start..<index])) { entries.append(entry) }
            start = index + 1
        }
        partial.removeFirst(start)
        return entries
    }

    /// The file written after the one being read: a reader that fell behind by several
    /// rotations finds its file among `path.1`...`path.N` and goes on with the next newer one, so
    /// nothing still on disk is skipped (a file rotated out of max-file is gone).
    private func nextFile(after path: String) -> String {
        var current = stat()
        guard fstat(fd, &current) == 0 else { return path }
        var index = 1
        var oldest: String?
        while true {
            let candidate = ContainerLogFiles.rotated(path, index: index)
            var named = stat()
            guard stat(candidate, &named) == 0 else { break }
            if named.st_ino == current.st_ino && named.st_dev == current.st_dev {
                return index == 1 ? path : ContainerLogFiles.rotated(path, index: index - 1)
            }
            oldest = candidate
            index += 1
        }
        return oldest ?? path
    }

    /// Whether `path` now names another file than the one being read (the writer rotated).
    private func rotatedAway(_ path: String) -> Bool {
        var current = stat(), named = stat()
        guard fstat(fd, &current) == 0 else { return false }
        guard stat(path, &named) == 0 else { return false }
        return current.st_ino != named.st_ino || current.st_dev != named.st_dev
    }

    /// Writes entries to our stdout/stderr by stream, with their timestamps when asked.
    public static func print(_ entries: [LogEntry], timestamps: Bool) {
        for entry in entries {
            let fd: Int32 = entry.stream == "stderr" ? 2 : 1
            let text = timestamps ? entry.time + " " + entry.log : entry.log
            try? FileIO.writeAll(fd: fd, Array(text.utf8), what: entry.stream)
        }
    }
}

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
/// until its newline, a size cap or the end), as docker's json-file driver does.
final class ContainerLogWriter {
    private let fd: Int32
    private var pending: [String: [UInt8]] = [:]
    private static let maxLine = 16 * 1024

    init(fd: Int32) { self.fd = fd }

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
        try? FileIO.writeAll(fd: fd, bytes, what: "container log")
    }
}

/// Reads a log file's complete lines incrementally from an open descriptor (for `logs -f` and
/// for a foreground `run`, which follows the log the monitor writes).
public final class ContainerLogReader {
    private let fd: Int32
    private var partial: [UInt8] = []

    public init(fd: Int32) { self.fd = fd }

    /// The entries completed since the last call.
    public func readAvailable() -> [LogEntry] {
        var entries: [LogEntry] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, 65536) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            partial.append(contentsOf: chunk[0..<n])
        }
        var start = 0
        for index in partial.indices where partial[index] == UInt8(ascii: "\n") {
            if let entry = try? RuntimeJSON.decode(LogEntry.self, from: Array(partial[start..<index])) { entries.append(entry) }
            start = index + 1
        }
        partial.removeFirst(start)
        return entries
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

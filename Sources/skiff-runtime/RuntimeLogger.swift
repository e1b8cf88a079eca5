#if canImport(Glibc)
import Glibc
#endif
import ContainerRuntime
import LinuxSupport

/// Writes errors and warnings to stderr and, with --log, to the log file in text or JSON lines
/// (containerd's shim reads the last JSON "error" line to explain a failure).
struct RuntimeLogger: Sendable {
    let path: String?
    let format: LogFormat

    // nonisolated(unsafe): set once by the command line before the command runs, in a process
    // whose only other threads (the cgroup setup) never log; read-only afterwards.
    nonisolated(unsafe) static var current = RuntimeLogger(path: nil, format: .text)

    func error(_ message: String) {
        emit(level: "error", message)
        writeStderr("skiff-runtime: \(message)\n")
    }

    func warning(_ message: String) {
        emit(level: "warning", message)
        writeStderr("skiff-runtime: warning: \(message)\n")
    }

    private func writeStderr(_ text: String) {
        _ = text.withCString { write(2, $0, strlen($0)) }
    }

    private func emit(level: String, _ message: String) {
        guard let path else { return }
        let time = Timestamp.now()
        let line: String
        switch format {
        case .json:
            let data = (try? RuntimeJSON.encode(["level": level, "msg": message, "time": time], sortedKeys: true)) ?? []
            line = String(decoding: data, as: UTF8.self) + "\n"
        case .text:
            line = "time=\"\(time)\" level=\(level) msg=\"\(message)\"\n"
        }
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        _ = line.withCString { write(fd, $0, strlen($0)) }
        close(fd)
    }
}

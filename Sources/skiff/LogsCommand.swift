#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Engine

/// `skiff logs [-f] [--tail N] [-t] [--since T] [--until T] CONTAINER`: the json-file log the monitor writes.
struct LogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "logs", abstract: "Print a container's output.")

    @OptionGroup var engineOptions: EngineOptions
    @Flag(name: [.customShort("f"), .customLong("follow")], help: "Keep printing new output until the container stops.") var follow = false
    @Option(name: [.customShort("n"), .customLong("tail")], help: "Number of lines from the end (default all).") var tail: String = "all"
    @Flag(
        name: .customLong("details"),
        help:
            "Show the extra attributes --log-opt labels/env add to each line (skiff's json-file log records none, so the output is the same)."
    )
    var details = false
    @Flag(name: [.customShort("t"), .customLong("timestamps")], help: "Prefix each line with its time.") var timestamps = false
    @Option(
        name: .customLong("since"), help: "Only output since this time: a duration back from now (10m, 1h30m), Unix seconds or RFC 3339.")
    var since: String?
    @Option(name: .customLong("until"), help: "Only output before this time (the same forms as --since).") var until: String?
    @Argument(help: "Container (name, ID or ID prefix).") var container: String

    func run() async throws {
        try await withEngineErrors {
            let engine = try engineOptions.openEngine()
            let record = try engine.store.resolve(container)
            var count: Int?
            if tail != "all" {
                guard let value = Int(tail), value >= 0 else { throw EngineError.invalidOption("--tail must be a number or 'all'") }
                count = value
            }
            var now = timespec()
            clock_gettime(CLOCK_REALTIME, &now)
            let window = try LogTimeFilter(since: since, until: until, now: Double(now.tv_sec) + Double(now.tv_nsec) / 1e9)
            if let config = record.logConfig, !config.readable {
                throw EngineError.invalidOption(
                    "\(record.name) was created with --log-driver \(config.driver.rawValue), which keeps no log to read")
            }
            let path = engine.store.logPath(for: record.id)
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { return }  // never started: no output yet
            defer { close(fd) }
            let reader = ContainerLogReader(fd: fd, path: path)
            func shown(_ entries: [LogEntry]) -> [LogEntry] { window.isEmpty ? entries : entries.filter { window.includes($0.time) } }
            // The rotated files first, oldest first, then the current one.
            var entries = shown(ContainerLogFiles.rotatedEntries(path) + reader.readAvailable())
            if let count { entries = Array(entries.suffix(count)) }
            ContainerLogReader.print(entries, timestamps: timestamps)
            // --until in the past: nothing newer can qualify (docker stops following there too).
            guard follow, window.until.map({ $0 > Double(now.tv_sec) }) ?? true else { return }
            while true {
                let current = try? engine.store.load(id: record.id)
                let running = current.map { engine.liveStatus($0).isRunning } ?? false
                ContainerLogReader.print(shown(reader.readAvailable()), timestamps: timestamps)
                if !running { break }
                usleep(50_000)
            }
            ContainerLogReader.print(shown(reader.readAvailable()), timestamps: timestamps)
        }
    }
}

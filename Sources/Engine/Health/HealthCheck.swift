#if canImport(Glibc)
import Glibc
#endif
import ContainerRuntime
import LinuxSupport
import OCISpec
import Synchronization

/// `--health-*` as given on the command line (durations in Go's syntax).
public struct HealthOptions: Sendable, Equatable {
    public var command: String?
    public var interval: String?
    public var timeout: String?
    public var startPeriod: String?
    public var startInterval: String?
    public var retries: Int?
    /// `--no-healthcheck`: the image's HEALTHCHECK is not run.
    public var disabled = false

    public init() {}

    public var isEmpty: Bool { self == HealthOptions() }
}

/// The health check a container runs: the flags over the image's HEALTHCHECK, with docker's
/// defaults (every 30 s, 30 s timeout, 3 retries, no start period, 5 s during it).
public struct HealthConfig: Codable, Sendable, Equatable {
    /// docker's form: `["CMD", args...]` or `["CMD-SHELL", command]`.
    public var test: [String]
    public var interval: Double
    public var timeout: Double
    public var startPeriod: Double
    public var startInterval: Double
    public var retries: Int

    /// What runs in the container.
    public var arguments: [String] {
        test.first == "CMD-SHELL" ? ["/bin/sh", "-c", test.dropFirst().joined(separator: " ")] : Array(test.dropFirst())
    }

    /// nil when the container has no health check (none in the image and no --health-cmd, or
    /// `--no-healthcheck`, or the image's `NONE`).
    public static func resolve(image: Healthcheck?, options: HealthOptions) throws(EngineError) -> HealthConfig? {
        if options.disabled {
            guard options.command == nil else { throw .invalidOption("--no-healthcheck conflicts with --health-cmd") }
            return nil
        }
        var test = image?.test ?? []
        if let command = options.command { test = command.uppercased() == "NONE" ? ["NONE"] : ["CMD-SHELL", command] }
        if test.first == "NONE" { return nil }
        guard test.count >= 2, ["CMD", "CMD-SHELL"].contains(test[0]) else {
            if options.isEmpty { return nil }
            throw .invalidOption(
                "--health-interval and the other --health-* flags need a check: --health-cmd, or an image with a HEALTHCHECK")
        }
        func seconds(_ flag: String?, name: String, image nanoseconds: Int64?, default fallback: Double) throws(EngineError) -> Double {
            if let flag {
                guard let value = GoDuration.seconds(flag) else {
                    throw .invalidOption("--health-\(name) '\(flag)': give a duration such as 30s, 1m30s or 500ms")
                }
                guard value == 0 || value >= 0.001 else { throw .invalidOption("--health-\(name) cannot be less than 1ms") }
                return value == 0 ? fallback : value
            }
            if let nanoseconds, nanoseconds > 0 { return Double(nanoseconds) / 1e9 }
            return fallback
        }
        let retries = options.retries ?? image?.retries.flatMap { $0 > 0 ? $0 : nil } ?? 3
        guard retries >= 0 else { throw .invalidOption("--health-retries cannot be negative") }
        return HealthConfig(
            test: test,
            interval: try seconds(options.interval, name: "interval", image: image?.interval, default: 30),
            timeout: try seconds(options.timeout, name: "timeout", image: image?.timeout, default: 30),
            startPeriod: try seconds(options.startPeriod, name: "start-period", image: image?.startPeriod, default: 0),
            startInterval: try seconds(options.startInterval, name: "start-interval", image: image?.startInterval, default: 5),
            retries: retries == 0 ? 3 : retries)
    }

    /// docker's `Config.Healthcheck` (nanoseconds).
    public var dockerForm: Healthcheck {
        Healthcheck(
            test: test, interval: Int64(interval * 1e9), timeout: Int64(timeout * 1e9), startPeriod: Int64(startPeriod * 1e9),
            startInterval: Int64(startInterval * 1e9), retries: retries)
    }
}

/// `State.Health`: kept by the monitor in the container's `health.json`.
public struct HealthState: Codable, Sendable, Equatable {
    public struct Result: Codable, Sendable, Equatable {
        public var Start: String
        public var End: String
        public var ExitCode: Int32
        public var Output: String

        public init(Start: String, End: String, ExitCode: Int32, Output: String) {
            (self.Start, self.End, self.ExitCode, self.Output) = (Start, End, ExitCode, Output)
        }
    }

    /// starting, healthy or unhealthy ("none" without a check).
    public var Status: String
    public var FailingStreak: Int
    /// The last five results, oldest first.
    public var Log: [Result]

    public static let starting = HealthState(Status: "starting", FailingStreak: 0, Log: [])
    public static let none = HealthState(Status: "none", FailingStreak: 0, Log: [])

    /// Folds one probe in, docker's way: success makes it healthy; failures count only after
    /// the start period (a failure inside it leaves the status as it is), and `retries` of them
    /// in a row make it unhealthy.
    public mutating func record(_ result: Result, retries: Int, inStartPeriod: Bool) {
        Log.append(result)
        if Log.count > 5 { Log.removeFirst(Log.count - 5) }
        if result.ExitCode == 0 {
            Status = "healthy"
            FailingStreak = 0
        } else if !inStartPeriod {
            FailingStreak += 1
            if FailingStreak >= retries { Status = "unhealthy" }
        }
    }
}

extension Engine {
    func healthPath(for id: String) -> String { store.directory(for: id) + "/health.json" }

    /// The container's health as its monitor last wrote it ("none" without a check).
    public func health(of record: EngineContainer) -> HealthState {
        guard record.healthcheck != nil else { return .none }
        guard liveStatus(record).isRunning,
            let bytes = try? FileIO.read(healthPath(for: record.id)),
            let state = try? RuntimeJSON.decode(HealthState.self, from: bytes)
        else { return record.healthcheck == nil ? .none : .starting }
        return state
    }
}

/// Runs a container's health check from its monitor while the program runs: every interval
/// (the start interval during the start period), `skiff exec` of the test with the timeout,
/// the result folded into `health.json`; `onChange` hears each new status (for the event).
/// The probe is a child process, so a hung check never blocks the monitor.
final class HealthMonitor: Sendable {
    /// Shared with the checking thread (an `Atomic` cannot be captured itself).
    final class Flag: Sendable {
        let value = Atomic<Bool>(false)
    }

    private let stopped = Flag()
    private let wake: (read: Int32, write: Int32)
    private let thread: BackgroundThread<Void>?

    init(engine: Engine, id: String, config: HealthConfig, onChange: (@Sendable (String) -> Void)? = nil) {
        wake = (try? Descriptors.pipe()) ?? (-1, -1)
        let path = engine.healthPath(for: id)
        let started = MonotonicClock.seconds()
        try? FileIO.writeAtomically(path, (try? RuntimeJSON.encode(HealthState.starting)) ?? [], mode: 0o644, durable: false)
        let (store, runtimeRoot, executable, wakeRead) = (engine.images.root, engine.runtimeRoot, engine.executable, wake.read)
        let stopped = self.stopped
        thread = BackgroundThread {
            var state = HealthState.starting
            while !stopped.value.load(ordering: .acquiring) {
                let inStartPeriod = MonotonicClock.seconds() - started < config.startPeriod
                // Sleep the interval, or until stopped (a byte on the wake pipe).
                var pfd = pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)
                let wait = inStartPeriod ? config.startInterval : config.interval
                if poll(&pfd, 1, Int32(min(wait * 1000, Double(Int32.max)))) != 0 || stopped.value.load(ordering: .acquiring) { return }
                let result = HealthMonitor.probe(
                    store: store, runtimeRoot: runtimeRoot, executable: executable, id: id, config: config)
                if stopped.value.load(ordering: .acquiring) { return }
                let before = state.Status
                state.record(result, retries: config.retries, inStartPeriod: MonotonicClock.seconds() - started < config.startPeriod)
                try? FileIO.writeAtomically(path, (try? RuntimeJSON.encode(state)) ?? [], mode: 0o644, durable: false)
                if state.Status != before { onChange?(state.Status) }
            }
        }
    }

    /// Ends the checks (at the program's exit); a probe under way is left to finish.
    func stop() {
        stopped.value.store(true, ordering: .releasing)
        if wake.write >= 0 {
            var byte: UInt8 = 1
            _ = write(wake.write, &byte, 1)
        }
    }

    deinit {
        if wake.read >= 0 { close(wake.read) }
        if wake.write >= 0 { close(wake.write) }
    }

    /// One check: `skiff exec --kill-after TIMEOUT ID TEST...`, its output (4 KiB at most, as
    /// docker keeps) and exit code; a timeout is a failure that says so.
    static func probe(store: String, runtimeRoot: String, executable: String, id: String, config: HealthConfig) -> HealthState.Result {
        let start = Timestamp.now()
        let arguments =
            [executable, "exec", "--root", store, "--runtime-root", runtimeRoot, "--kill-after", String(config.timeout), id]
            + config.arguments
        let result = try? Subprocess.run(
            path: executable, args: arguments, env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            captureOutput: true, captureStderr: true, timeout: config.timeout + 10, outputLimit: 4096)
        var output = String(decoding: (result?.output ?? []).prefix(4096), as: UTF8.self)
        var code = result?.exitCode ?? -1
        if result?.timedOut == true || output.contains(ExecTimeout.marker) {
            output = "Health check exceeded timeout (\(config.timeout)s)"
            code = -1
        }
        return HealthState.Result(Start: start, End: Timestamp.now(), ExitCode: code, Output: output)
    }
}

/// What `skiff exec --kill-after` prints when it killed the program at its deadline.
public enum ExecTimeout {
    public static let marker = "skiff: exec: killed at its deadline"
}

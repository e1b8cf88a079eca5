import Dispatch
import Synchronization

/// Bounds one request as a whole, where the socket's idle timeout bounds only each read: a
/// server that sends a byte every few seconds never trips an idle timeout, yet a pull through it
/// would take days. Two limits, each off unless set:
/// - a deadline for the whole exchange (connect, redirects, body), for small requests such as
///   manifests and tokens;
/// - a low-speed limit (curl's `--speed-limit`/`--speed-time`): the request fails once the bytes
///   moved in the last `lowSpeedTime` seconds average below `lowSpeedLimit` bytes/s.
///
/// It runs Dispatch timers beside the request's blocking I/O and, when a limit is crossed, aborts
/// the request through its `Cancellation` (which shuts the socket down and remembers why).
/// Unchecked Sendable: the timers are set up in init and only cancelled afterwards, which
/// Dispatch allows from any thread (its source types are not marked Sendable).
final class TransferWatchdog: @unchecked Sendable {
    private let timers: [any DispatchSourceTimer]

    init(cancellation: Cancellation, lowSpeedLimit: Int, lowSpeedTime: Double, deadline: Double?) {
        var timers: [any DispatchSourceTimer] = []
        let queue = DispatchQueue.global()
        if let deadline, let seconds = Self.usable(deadline) {
            let timer = DispatchSource.makeTimerSource(queue: queue)
            timer.schedule(deadline: .now() + .nanoseconds(Int(seconds * 1e9)))
            timer.setEventHandler { cancellation.abort(because: .deadlineExceeded(seconds: deadline)) }
            timer.resume()
            timers.append(timer)
        }
        if lowSpeedLimit > 0, let window = Self.usable(lowSpeedTime) {
            let meter = SharedMeter(LowSpeedMeter(limit: lowSpeedLimit, window: window, start: Self.now()))
            let tick = LowSpeedMeter.tick(window: window)
            let timer = DispatchSource.makeTimerSource(queue: queue)
            timer.schedule(deadline: .now() + .nanoseconds(Int(tick * 1e9)), repeating: .nanoseconds(Int(tick * 1e9)))
            timer.setEventHandler {
                let bytes = cancellation.counter.bytes.load(ordering: .relaxed)
                if let rate = meter.state.withLock({ $0.sample(at: Self.now(), bytes: bytes) }) {
                    cancellation.abort(because: .tooSlow(bytesPerSecond: rate, limit: lowSpeedLimit, seconds: lowSpeedTime))
                }
            }
            timer.resume()
            timers.append(timer)
        }
        self.timers = timers
    }

    func stop() {
        for timer in timers { timer.cancel() }
    }

    deinit { stop() }

    /// A positive, finite number of seconds, capped at a year (beyond that a limit means nothing,
    /// and nanosecond arithmetic would overflow); nil for zero, negative or not-a-number (off).
    static func usable(_ seconds: Double) -> Double? {
        guard seconds.isFinite, seconds > 0 else { return nil }
        return min(seconds, 365 * 86400)
    }

    /// Monotonic seconds.
    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
}

/// The low-speed rule as a pure function of samples (time, total bytes so far): the average over
/// the last `window` seconds must reach `limit` bytes/s. Samples older than needed are dropped, so
/// a request keeps at most about 32 whatever the window.
struct LowSpeedMeter: Sendable {
    let limit: Int
    let window: Double
    private var samples: [(time: Double, bytes: Int64)]

    init(limit: Int, window: Double, start: Double) {
        self.limit = limit
        self.window = window
        samples = [(start, 0)]
    }

    /// How often to sample: a thirtieth of the window (at least 0.1 s), so a failure is seen within
    /// a few percent of `window` after the last `window` seconds fell short.
    static func tick(window: Double) -> Double {
        max(0.1, window / 30)
    }

    /// Records a sample; returns the measured rate when the last `window` seconds fell short.
    mutating func sample(at time: Double, bytes: Int64) -> Double? {
        samples.append((time, bytes))
        // Keep the newest sample at least `window` old as the base, and every one after it.
        while samples.count >= 2, samples[1].time <= time - window { samples.removeFirst() }
        let base = samples[0]
        let span = time - base.time
        guard span >= window, span > 0 else { return nil }
        let rate = Double(bytes - base.bytes) / span
        return rate < Double(limit) ? rate : nil
    }
}

/// The meter the watchdog's timer updates (a class, so the escaping timer handler can hold it).
final class SharedMeter: Sendable {
    let state: Synchronization.Mutex<LowSpeedMeter>
    init(_ meter: LowSpeedMeter) { state = Synchronization.Mutex(meter) }
}

/// Bytes moved by one request in either direction, counted where they are read and written.
final class TransferCounter: Sendable {
    let bytes = Atomic<Int64>(0)

    func add(_ count: Int) {
        bytes.wrappingAdd(Int64(count), ordering: .relaxed)
    }
}

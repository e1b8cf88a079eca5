#if canImport(Glibc)
import Glibc
#endif
import ContainerRuntime
import LinuxSupport

extension Engine {
    /// The program exited and its monitor is waiting out the restart backoff.
    public func isRestarting(_ record: EngineContainer) -> Bool {
        record.restarting == true && Self.isAlive(pid: record.monitorPid, startTime: record.monitorStartTime)
    }

    /// After `stop` signalled the program: a monitor with a restart policy may be between two
    /// runs (or just restarting one); keep killing what runs until that monitor has seen the
    /// stop and exited, so `stop` leaves nothing that comes back.
    func waitForMonitorAfterStop(_ record: EngineContainer, timeout: Double) {
        guard record.policy != .no else { return }
        let deadline = MonotonicClock.seconds() + max(timeout, 0) + 10
        while MonotonicClock.seconds() < deadline {
            guard let current = try? store.load(id: record.id),
                Self.isAlive(pid: current.monitorPid, startTime: current.monitorStartTime)
            else { return }
            if current.status == .running, current.restarting != true { try? deliver(SIGKILL, all: false, to: record) }
            usleep(10_000)
        }
    }

    /// docker restart: stop (the stop signal, SIGKILL after `timeout`), then start detached.
    public func restart(_ reference: String, timeout: Double) throws {
        let record = try store.resolve(reference)
        try stop(record.id, timeout: timeout)
        _ = try start(record.id, attach: false)
        recordEvent(record, "restart")
    }
}

/// What a start that streams through the monitor's attach socket asks for.
public struct AttachRequest: Sendable {
    /// The client's terminal size, applied to the pty before the program starts.
    public var consoleSize: (rows: UInt16, columns: UInt16)?

    public init(consoleSize: (rows: UInt16, columns: UInt16)?) { self.consoleSize = consoleSize }

    var monitorArguments: [String] {
        ["--wait-attach"] + (consoleSize.map { ["--console-size", "\($0.rows)x\($0.columns)"] } ?? [])
    }
}

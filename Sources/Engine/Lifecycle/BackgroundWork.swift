import Dispatch

/// One piece of blocking work run on a Dispatch thread while the caller does something else,
/// and its result collected afterwards. It exists for the container teardown, where the network's
/// CNI DEL (plugin runs, the longest part) overlaps removing the runtime state and the rootfs mount.
final class BackgroundWork: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var outcome: Result<Void, any Error> = .success(())

    init(_ work: @escaping @Sendable () throws -> Void) {
        DispatchQueue.global().async {
            self.outcome = Result { try work() }
            self.done.signal()
        }
    }

    /// Waits for the work and rethrows its error (the semaphore orders the write before the read).
    func wait() throws {
        done.wait()
        try outcome.get()
    }
}

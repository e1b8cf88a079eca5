#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LinuxSupport
import Synchronization

/// Taking the store lock, and saying whom a command waits for when it cannot.
///
/// It exists because a command blocked on `store.lock` used to wait in silence: each holder now
/// leaves a `LiveRecord` in `lock-holders/` (pid, mode, command), and a command that has waited
/// a second prints "waiting for another skiff process (pid N, pull) to release the store...".
extension ImageStore {
    /// The store lock and this process's record in `lock-holders/`, released together.
    struct StoreLock {
        let lock: FileLock
        let record: LiveRecord?

        func unlock() {
            record?.release()
            lock.unlock()
        }
    }

    /// Takes the store lock, saying on stderr after a second of waiting who holds it, and
    /// records this process as a holder (pid, mode, command) for others who wait. The record
    /// costs a create, a write and a rename (an unlink when released); a failure to write it
    /// costs only the message, so it is not an error.
    func acquire(exclusive: Bool) throws -> StoreLock {
        let lock = try FileLock.tryLock(path: lockPath, exclusive: exclusive) ?? waitForLock(exclusive: exclusive)
        let text = "\(getpid()) \(exclusive ? "exclusive" : "shared") \(Self.processCommand)"
        return StoreLock(lock: lock, record: try? LiveRecord(directory: holdersDirectory, contents: Array(text.utf8)))
    }

    private func waitForLock(exclusive: Bool) throws -> FileLock {
        let notice = LockWaitNotice(holdersDirectory: holdersDirectory, exclusive: exclusive)
        DispatchQueue.global().asyncAfter(deadline: .now() + Self.lockWaitNoticeDelay) { notice.fire() }
        defer { notice.cancel() }
        return try FileLock(path: lockPath, exclusive: exclusive)
    }

    /// How long a command waits for the store lock before it says so.
    static let lockWaitNoticeDelay: Double = 1

    /// What this process is doing, for other processes waiting on the store lock ("pull",
    /// "image prune"); the CLI sets it from the command line.
    public static var processCommand: String {
        get { processCommandState.withLock { $0 } }
        set { processCommandState.withLock { $0 = newValue.filter { !$0.isNewline } } }
    }

    /// The holders of the store lock that are still alive, other than this process.
    public func lockHolders() -> [LockHolder] { LockHolder.live(in: holdersDirectory) }
}

private let processCommandState = Mutex<String>(CommandLine.arguments.first.map { String($0.split(separator: "/").last ?? "") } ?? "skiff")

/// One process holding the store lock, as its `lock-holders/` record says.
public struct LockHolder: Sendable, Equatable, CustomStringConvertible {
    public var pid: Int32
    public var exclusive: Bool
    public var command: String

    /// Parses "PID shared|exclusive COMMAND..."; nil for anything else.
    init?(record: [UInt8]) {
        let parts = String(decoding: record, as: UTF8.self).split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, let pid = Int32(parts[0]), pid > 0, parts[1] == "shared" || parts[1] == "exclusive" else { return nil }
        self.pid = pid
        exclusive = parts[1] == "exclusive"
        command = parts.count > 2 ? String(parts[2].prefix(200)) : ""
    }

    /// The live holders recorded in `directory`, other than this process.
    static func live(in directory: String) -> [LockHolder] {
        LiveRecord.live(in: directory).compactMap(LockHolder.init(record:)).filter { $0.pid != getpid() }
    }

    public var description: String { command.isEmpty ? "pid \(pid)" : "pid \(pid), \(command)" }

    /// "waiting for another skiff process (pid 12, pull) to release the store...": the holders
    /// that keep a waiter out (every holder for an exclusive waiter, exclusive ones for a shared).
    static func waitingMessage(_ holders: [LockHolder], exclusive: Bool) -> String {
        let blocking = exclusive ? holders : holders.filter(\.exclusive)
        guard !blocking.isEmpty else { return "waiting for another skiff process to release the store..." }
        let shown = blocking.prefix(3).map(\.description).joined(separator: "; ")
        let more = blocking.count > 3 ? "; \(blocking.count - 3) more" : ""
        return "waiting for another skiff process (\(shown)\(more)) to release the store..."
    }
}

/// Prints the lock-wait message once, unless the lock came first.
final class LockWaitNotice: Sendable {
    let holdersDirectory: String
    let exclusive: Bool
    private let done = Mutex(false)

    init(holdersDirectory: String, exclusive: Bool) {
        self.holdersDirectory = holdersDirectory
        self.exclusive = exclusive
    }

    func fire() {
        done.withLock { done in
            guard !done else { return }
            done = true
            let line = LockHolder.waitingMessage(LockHolder.live(in: holdersDirectory), exclusive: exclusive) + "\n"
            FileHandle.standardError.write(Data(line.utf8))
        }
    }

    func cancel() { done.withLock { $0 = true } }
}

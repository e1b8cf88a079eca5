#if canImport(Glibc)
import Glibc
#endif
import CShim
import Synchronization

/// Files and trees that must not outlive an interrupted command (a half-unpacked snapshot, a
/// half-written blob): registered while they are being made, removed if SIGINT, SIGTERM or SIGHUP
/// ends the process first. A kill -9 cannot be caught: what it leaves carries the maker's
/// `ProcessLease` in its name and goes with the next command's cleanup.
///
/// The signals arrive through a `SignalWatcher` (its handler only writes to a pipe); a thread
/// removes the registered paths, restores the default action and raises the signal again, so the
/// process still ends by that signal (exit status 128 + N to its parent's shell).
public enum InterruptCleanup {
    private static let paths = Mutex<Set<String>>([])
    private static let installed = Atomic<Bool>(false)

    public static func register(_ path: String) { _ = paths.withLock { $0.insert(path) } }
    public static func unregister(_ path: String) { _ = paths.withLock { $0.remove(path) } }

    /// Installs the handlers once per process (commands that make store content call it).
    public static func install() {
        guard installed.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return }
        guard let watcher = try? SignalWatcher([SIGINT, SIGTERM, SIGHUP]) else { return }
        // The thread owns the watcher for the rest of the process.
        let context = Unmanaged.passRetained(watcher).toOpaque()
        var thread = pthread_t()
        let started = pthread_create(
            &thread, nil,
            { argument in
                guard let argument else { return nil }
                let watcher = Unmanaged<SignalWatcher>.fromOpaque(argument).takeUnretainedValue()
                guard let signal = watcher.wait()?.first else { return nil }
                for path in InterruptCleanup.paths.withLock({ Array($0) }) { FileIO.removeTree(path) }
                // Default action, unblocked here (this thread inherited a worker's mask, which blocks
                // most signals), sent to the whole process: it ends as that signal would have ended it.
                Glibc.signal(signal, SIG_DFL)
                var unblock = sigset_t()
                sigemptyset(&unblock)
                sigaddset(&unblock, signal)
                pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
                kill(getpid(), signal)
                raise(signal)
                return nil
            }, context)
        guard started == 0 else {
            Unmanaged<SignalWatcher>.fromOpaque(context).release()
            return
        }
        pthread_detach(thread)
    }
}

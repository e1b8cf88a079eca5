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
/// The signal handler only writes the signal number to a pipe (async-signal-safe); a thread
/// removes the registered paths, restores the default action and raises the signal again, so the
/// process still ends by that signal (exit status 128 + N to its parent's shell).
public enum InterruptCleanup {
    private static let paths = Mutex<Set<String>>([])
    private static let installed = Atomic<Bool>(false)
    /// The write end of the pipe, read by the signal handler (an Int32 store is atomic enough for it).
    nonisolated(unsafe) private static var pipeWrite: Int32 = -1

    public static func register(_ path: String) { _ = paths.withLock { $0.insert(path) } }
    public static func unregister(_ path: String) { _ = paths.withLock { $0.remove(path) } }

    /// Installs the handlers once per process (commands that make store content call it).
    public static func install() {
        guard installed.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return }
        var fds: [Int32] = [-1, -1]
        guard skiff_pipe2(&fds, O_CLOEXEC) == 0 else { return }
        pipeWrite = fds[1]
        let readEnd = fds[0]
        var thread = pthread_t()
        let started = pthread_create(&thread, nil, { argument in
            let fd = Int32(Int(bitPattern: argument))
            var signal: Int32 = 0
            while read(fd, &signal, 4) != 4 { if errno != EINTR { return nil } }
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
        }, UnsafeMutableRawPointer(bitPattern: Int(readEnd)))
        guard started == 0 else { return }
        pthread_detach(thread)
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in
                var value = number
                _ = write(InterruptCleanup.pipeWrite, &value, 4)
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(sig, &action, nil)
        }
    }
}

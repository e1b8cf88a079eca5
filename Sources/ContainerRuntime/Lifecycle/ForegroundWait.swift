#if canImport(Glibc)
import Glibc
#endif
import CShim
import LinuxSupport

/// Waits for a child process of ours while forwarding the signals we receive to it, as `runc run`
/// and `runc exec` do in the foreground. Returns the exit code (128+signal if killed).
public enum ForegroundWait {
    static let forwarded: [Int32] = [
        SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT, SIGTSTP, SIGTTIN, SIGTTOU, SIGALRM,
    ]

    /// Signals arrive through a `SignalWatcher` (the `skiff` CLI that calls this for `exec` has
    /// several threads, where a mask blocked in this one would not catch them), the child's exit
    /// through a pidfd (or a 100 ms poll on kernels without one).
    public static func wait(pid: Int32, signals: SignalWatcher? = nil, onSignal: ((Int32) -> Void)? = nil) -> Int32 {
        wait(pid: pid, deadline: nil, signals: signals, onSignal: onSignal) ?? 137
    }

    /// The signals `wait` forwards, caught from now on. Made before the child starts, so that one
    /// that comes before `wait` (the child's first output reached a user, who pressed Ctrl-C) is
    /// forwarded then instead of taking its default action, which would end the caller and leave
    /// the child running. The caller closes it after `wait`.
    public static func watchSignals() -> SignalWatcher? { try? SignalWatcher(forwarded) }

    /// With `deadline` (a `MonotonicClock` time), the child is killed there and nil returned.
    /// `signals`: from `watchSignals`, made before the child (otherwise one is made here).
    public static func wait(pid: Int32, deadline: Double?, signals early: SignalWatcher? = nil, onSignal: ((Int32) -> Void)? = nil)
        -> Int32?
    {
        let signals = early ?? watchSignals()
        defer { if early == nil { signals?.close() } }
        let pidFD = skiff_pidfd_open(pid)
        defer { if pidFD >= 0 { close(pidFD) } }
        while true {
            var status: Int32 = 0
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid { return Processes.decode(status) }
            if r < 0 && errno == ECHILD { return 255 }
            if let deadline, MonotonicClock.seconds() >= deadline {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                return nil
            }
            var fds: [pollfd] = []
            if let signals { fds.append(pollfd(fd: signals.descriptor, events: Int16(POLLIN), revents: 0)) }
            if pidFD >= 0 { fds.append(pollfd(fd: pidFD, events: Int16(POLLIN), revents: 0)) }
            var timeout: Int32 = pidFD >= 0 && signals != nil ? -1 : 100
            if let deadline {
                timeout = Int32(max(1, min(Double(timeout < 0 ? 60_000 : timeout), (deadline - MonotonicClock.seconds()) * 1000)))
            }
            _ = poll(&fds, nfds_t(fds.count), timeout)
            for sig in signals?.pending() ?? [] {
                if let onSignal { onSignal(sig) } else { kill(pid, sig) }
            }
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
import LinuxSupport

/// Waits for a child process of ours while forwarding the signals we receive to it, as `runc run`
/// and `runc exec` do in the foreground. Returns the exit code (128+signal if killed).
public enum ForegroundWait {
    static let forwarded: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT, SIGTSTP, SIGTTIN, SIGTTOU, SIGALRM]

    public static func wait(pid: Int32, onSignal: ((Int32) -> Void)? = nil) -> Int32 {
        var set = sigset_t()
        sigemptyset(&set)
        for sig in forwarded { sigaddset(&set, sig) }
        sigaddset(&set, SIGCHLD)
        var old = sigset_t()
        sigprocmask(SIG_BLOCK, &set, &old)
        defer { sigprocmask(SIG_SETMASK, &old, nil) }
        while true {
            var status: Int32 = 0
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid { return Processes.decode(status) }
            if r < 0 && errno == ECHILD { return 255 }
            var info = siginfo_t()
            var timeout = timespec(tv_sec: 1, tv_nsec: 0)
            let sig = sigtimedwait(&set, &info, &timeout)
            if sig > 0 && sig != SIGCHLD {
                if let onSignal { onSignal(sig) } else { kill(pid, sig) }
            }
        }
    }
}

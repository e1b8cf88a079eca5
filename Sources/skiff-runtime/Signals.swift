#if canImport(Glibc)
import Glibc
#endif

/// Signal names as runc accepts them: "KILL", "SIGKILL", "9", "SIGRTMIN+3".
enum Signals {
    static let names: [String: Int32] = [
        "HUP": SIGHUP, "INT": SIGINT, "QUIT": SIGQUIT, "ILL": SIGILL, "TRAP": SIGTRAP, "ABRT": SIGABRT,
        "IOT": SIGABRT, "BUS": SIGBUS, "FPE": SIGFPE, "KILL": SIGKILL, "USR1": SIGUSR1, "SEGV": SIGSEGV,
        "USR2": SIGUSR2, "PIPE": SIGPIPE, "ALRM": SIGALRM, "TERM": SIGTERM, "STKFLT": SIGSTKFLT,
        "CHLD": SIGCHLD, "CONT": SIGCONT, "STOP": SIGSTOP, "TSTP": SIGTSTP, "TTIN": SIGTTIN, "TTOU": SIGTTOU,
        "URG": SIGURG, "XCPU": SIGXCPU, "XFSZ": SIGXFSZ, "VTALRM": SIGVTALRM, "PROF": SIGPROF,
        "WINCH": SIGWINCH, "IO": SIGIO, "POLL": SIGIO, "PWR": SIGPWR, "SYS": SIGSYS,
    ]

    static func parse(_ text: String) -> Int32? {
        if let n = Int32(text) { return n > 0 && n < 65 ? n : nil }
        var name = text.uppercased()
        if name.hasPrefix("SIG") { name.removeFirst(3) }
        if let n = names[name] { return n }
        if name.hasPrefix("RTMIN") {
            let offset = name.dropFirst(5)
            let base: Int32 = 34
            if offset.isEmpty { return base }
            if offset.hasPrefix("+"), let k = Int32(offset.dropFirst()), base + k <= 64 { return base + k }
        }
        if name.hasPrefix("RTMAX") {
            let offset = name.dropFirst(5)
            if offset.isEmpty { return 64 }
            if offset.hasPrefix("-"), let k = Int32(offset.dropFirst()), 64 - k >= 34 { return 64 - k }
        }
        return nil
    }
}

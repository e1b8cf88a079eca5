import Foundation
import LinuxSupport
import Testing

/// A program run on a pty the test holds (as a user's terminal): it is a session leader whose
/// controlling terminal is the pty's slave, so resizing the master sends it SIGWINCH. Its output
/// is read from the master; nothing else is shared with it (no pipes a daemonised child could
/// keep open).
final class PtySession {
    let master: Int32
    let pid: pid_t
    private(set) var output: [UInt8] = []
    private var status: Int32?

    init(_ arguments: [String], rows: UInt16 = 24, columns: UInt16 = 80) throws {
        // posix_openpt, unlockpt and ptsname by hand (Swift's Glibc leaves them out):
        // TIOCSPTLCK and TIOCGPTN, the same numbers on x86-64 and arm64.
        master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC)
        var unlock: Int32 = 0
        var number: UInt32 = 0
        guard master >= 0, ioctl(master, UInt(0x4004_5431), &unlock) == 0, ioctl(master, UInt(0x8004_5430), &number) == 0 else {
            throw TestError("cannot open a pty: \(String(cString: strerror(errno)))")
        }
        let slavePath = "/dev/pts/\(number)"
        var size = winsize(ws_row: rows, ws_col: columns, ws_xpixel: 0, ws_ypixel: 0)
        _ = ioctl(master, UInt(TIOCSWINSZ), &size)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // After setsid, opening the slave without O_NOCTTY makes it the controlling terminal.
        posix_spawn_file_actions_addopen(&actions, 0, slavePath, O_RDWR, 0)
        posix_spawn_file_actions_adddup2(&actions, 0, 1)
        posix_spawn_file_actions_adddup2(&actions, 0, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var all = sigset_t()
        sigfillset(&all)
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | 0x80 /* POSIX_SPAWN_SETSID */))
        let argv = CStringArray(arguments)
        let envp = CStringArray(["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"])
        var child: pid_t = 0
        let rc = posix_spawn(&child, arguments[0], &actions, &attributes, argv.pointers, envp.pointers)
        guard rc == 0 else {
            close(master)
            throw TestError("spawn \(arguments[0]): \(String(cString: strerror(rc)))")
        }
        pid = child
    }

    deinit {
        if status == nil {
            kill(pid, SIGKILL)
            _ = Processes.wait(pid)
        }
        close(master)
    }

    var text: String { String(decoding: output, as: UTF8.self) }

    /// Types `text` on the terminal.
    func send(_ text: String) {
        _ = try? FileIO.writeAll(fd: master, Array(text.utf8), what: "pty")
    }

    /// Resizes the terminal (the program gets SIGWINCH).
    func resize(rows: UInt16, columns: UInt16) {
        var size = winsize(ws_row: rows, ws_col: columns, ws_xpixel: 0, ws_ypixel: 0)
        _ = ioctl(master, UInt(TIOCSWINSZ), &size)
    }

    private func readAvailable(milliseconds: Int32) {
        var pfd = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, milliseconds) > 0 else { return }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = read(master, &buffer, buffer.count)
        if n > 0 { output.append(contentsOf: buffer[0..<n]) } else { usleep(UInt32(milliseconds) * 1000) }
    }

    /// Reads until the output contains `text`, for up to `seconds`.
    func expect(_ text: String, seconds: Double = 15) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if self.text.contains(text) { return true }
            readAvailable(milliseconds: 50)
        }
        return self.text.contains(text)
    }

    /// Waits for the program's exit code (reading its output meanwhile); nil after `seconds`.
    func wait(seconds: Double = 15) -> Int32? {
        if let status { return status }
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            var raw: Int32 = 0
            if waitpid(pid, &raw, WNOHANG) == pid {
                readAvailable(milliseconds: 0)
                status = Processes.decode(raw)
                return status
            }
            readAvailable(milliseconds: 20)
        }
        return nil
    }
}

/// Runs a program with `input` as its stdin and its output in files (a container's monitor must
/// not inherit a pipe the test waits on).
func runWithInput(_ arguments: [String], input: String) throws -> CommandResult {
    let base = "/tmp/skiff-engine-it-io-\(UUID().uuidString.prefix(13))"
    defer { for suffix in [".in", ".out", ".err"] { unlink(base + suffix) } }
    try input.write(toFile: base + ".in", atomically: false, encoding: .utf8)
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, base + ".in", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, base + ".out", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_addopen(&actions, 2, base + ".err", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    let argv = CStringArray(arguments)
    let envp = CStringArray(["PATH=/usr/sbin:/usr/bin:/sbin:/bin"])
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, arguments[0], &actions, nil, argv.pointers, envp.pointers)
    guard rc == 0 else { throw TestError("spawn \(arguments[0]): \(String(cString: strerror(rc)))") }
    let status = Processes.wait(pid)
    return CommandResult(
        status: status, stdout: (try? String(contentsOfFile: base + ".out", encoding: .utf8)) ?? "",
        stderr: (try? String(contentsOfFile: base + ".err", encoding: .utf8)) ?? "")
}

extension EngineFixture {
    /// The full command line of `skiff <command>` against this fixture's roots.
    func commandLine(_ command: String, _ arguments: [String]) -> [String] {
        [skiffBinary, command, "--root", root, "--runtime-root", runtimeRoot] + arguments
    }

    /// The record's field, re-read.
    func field(_ id: String, _ key: String) -> Any? { record(id)?[key] }

    /// The processes of a running container, as `ps -o pid,stat,comm` inside shows them.
    func processes(_ container: String) throws -> String {
        try skiff("exec", [container, "ps", "-o", "pid,stat,comm"], check: true).stdout
    }
}

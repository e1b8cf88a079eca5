#if canImport(Glibc)
import Glibc
#endif
import CShim
import LinuxSupport

/// The Unix socket a monitor serves attach clients on: `attach.sock` in the container's
/// directory. Container directories are deeper than the 108 bytes a socket address holds, so
/// both ends go through `/proc/self/fd/N/attach.sock` of an open directory (as conmon does).
public enum AttachSocket {
    public static let name = "attach.sock"
    /// The socket a micro-VM container's monitor serves `exec` sessions on, one per connection.
    public static let execName = "exec.sock"

    /// Every connection waiting on a non-blocking listener, each made close-on-exec and
    /// non-blocking (the monitor's poll loops serve them): the attach and exec servers' accept.
    static func acceptWaiting(_ listener: Int32) -> [Int32] {
        var accepted: [Int32] = []
        while true {
            let fd = accept(listener, nil, nil)
            if fd < 0 {
                if errno == EINTR { continue }
                return accepted
            }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            accepted.append(fd)
        }
    }

    private static func withShortPath<T>(directory: String, name: String = name, _ body: (String) throws -> T) throws -> T {
        let fd = try sysCall("open \(directory)") { open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        defer { close(fd) }
        return try body("/proc/self/fd/\(fd)/" + name)
    }

    private static func address(_ path: String) -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() where index < raw.count - 1 { raw[index] = byte }
        }
        return address
    }

    /// Binds and listens (non-blocking, close-on-exec), replacing a stale socket file.
    static func listen(directory: String, name: String = name) throws -> Int32 {
        try withShortPath(directory: directory, name: name) { path in
            unlink(path)
            let fd = try sysCall("socket") {
                socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            }
            var address = address(path)
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard bound == 0, Glibc.listen(fd, 16) == 0 else {
                let error = SystemError("listen on \(directory)/\(name)")
                close(fd)
                throw error
            }
            return fd
        }
    }

    /// Connects to the monitor of the container in `directory`.
    public static func connect(directory: String, name: String = name) throws -> Int32 {
        try withShortPath(directory: directory, name: name) { path in
            let fd = try sysCall("socket") { socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
            var address = address(path)
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard result == 0 else {
                let error = SystemError("connect to the container monitor at \(directory)/\(name)")
                close(fd)
                throw error
            }
            return fd
        }
    }
}

/// Raw mode of the user's terminal while attached, as docker's client sets it.
public enum RawTerminal {
    /// Puts `fd` in raw mode; returns the settings to restore, nil when it is not a terminal.
    public static func makeRaw(_ fd: Int32) -> termios? {
        guard isatty(fd) == 1 else { return nil }
        var saved = termios()
        guard tcgetattr(fd, &saved) == 0 else { return nil }
        var raw = saved
        cfmakeraw(&raw)
        tcsetattr(fd, TCSANOW, &raw)
        return saved
    }

    public static func restore(_ fd: Int32, _ saved: termios?) {
        guard var saved else { return }
        tcsetattr(fd, TCSANOW, &saved)
    }

    /// The size of the first of `fds` that is a terminal.
    public static func size(of fds: [Int32] = [0, 1]) -> (rows: UInt16, columns: UInt16)? {
        for fd in fds where isatty(fd) == 1 {
            var rows: UInt16 = 0, columns: UInt16 = 0
            if skiff_get_winsize(fd, &rows, &columns) == 0, rows > 0 || columns > 0 { return (rows, columns) }
        }
        return nil
    }
}

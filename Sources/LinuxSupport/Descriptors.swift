#if canImport(Glibc)
import Glibc
#endif
import CShim

/// Pipes, socket pairs and descriptor flags, with errors that say what was being made.
public enum Descriptors {
    /// A connected pair of Unix stream sockets, both close-on-exec.
    public static func socketPair() throws -> (Int32, Int32) {
        var fds: [Int32] = [-1, -1]
        try sysCall("socketpair") { socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) }
        return (fds[0], fds[1])
    }

    /// A pipe, both ends close-on-exec: (read end, write end).
    public static func pipe() throws -> (Int32, Int32) {
        var fds: [Int32] = [-1, -1]
        try sysCall("pipe2") { skiff_pipe2(&fds, O_CLOEXEC) }
        return (fds[0], fds[1])
    }

    /// Sends descriptors over a Unix socket with one payload byte.
    public static func send(fds: [Int32], over socket: Int32, payload: [UInt8] = [0]) throws {
        try payload.withUnsafeBytes { raw in
            _ = try sysCall("sendmsg SCM_RIGHTS") {
                skiff_send_fds(socket, fds, Int32(fds.count), raw.baseAddress, raw.count)
            }
        }
    }

    /// Receives up to `max` descriptors sent with `send(fds:over:)`; the payload is returned too.
    public static func receive(from socket: Int32, max: Int = 16, payloadSize: Int = 1) throws -> (fds: [Int32], payload: [UInt8]) {
        var fds = [Int32](repeating: -1, count: 16)
        var count: Int32 = 0
        var payload = [UInt8](repeating: 0, count: payloadSize)
        let n = try payload.withUnsafeMutableBytes { raw in
            try sysCall("recvmsg SCM_RIGHTS") { skiff_recv_fds(socket, &fds, Int32(max), &count, raw.baseAddress, raw.count) }
        }
        return (Array(fds[0..<Int(count)]), Array(payload[0..<n]))
    }

    /// Connects to a Unix socket by path.
    public static func connectUnix(path: String) throws -> Int32 {
        let fd = try sysCall("socket") { socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(fd)
            throw SystemError("connect \(path): path too long", errno: ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        if result != 0 {
            let code = errno
            close(fd)
            throw SystemError("connect \(path)", errno: code)
        }
        return fd
    }

    /// Clears close-on-exec so a descriptor survives execve.
    public static func setInheritable(_ fd: Int32) throws {
        let flags = try sysCall("fcntl F_GETFD") { skiff_fcntl_int(fd, F_GETFD, 0) }
        try sysCall("fcntl F_SETFD") { skiff_fcntl_int(fd, F_SETFD, flags & ~FD_CLOEXEC) }
    }

    /// Reads exactly `count` bytes or throws (EOF included).
    public static func readExactly(_ fd: Int32, _ count: Int, what: String) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let n = try out.withUnsafeMutableBytes { raw in
                try sysCall("read \(what)") { read(fd, raw.baseAddress! + offset, count - offset) }
            }
            if n == 0 { throw SystemError("read \(what): unexpected end of stream", errno: EPIPE) }
            offset += n
        }
        return out
    }
}

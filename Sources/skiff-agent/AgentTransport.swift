#if canImport(Glibc)
import Glibc
#endif
import LinuxSupport

/// The agent's one byte stream to the host: the virtio-console port named `org.skiff.agent`
/// (QEMU, which has no vsock on hosts without vhost-vsock), else a vsock connection accepted on
/// port 1024 (skiff's own monitor). The protocol above it does not care which.
enum AgentTransport {
    static let portName = "org.skiff.agent"
    static let vsockPort: UInt32 = 1024

    static func open() throws -> Int32 {
        if let path = virtioPort() {
            return try sysCall("open \(path)") { Glibc.open(path, O_RDWR | O_CLOEXEC) }
        }
        return try acceptVsock()
    }

    /// /dev/vportNpM of the port whose name is `portName`, if the guest has one.
    static func virtioPort() -> String? {
        let base = "/sys/class/virtio-ports"
        for entry in (try? FileIO.listDirectory(base)) ?? [] {
            if ((try? FileIO.readString("\(base)/\(entry)/name")) ?? "").trimmed == portName { return "/dev/" + entry }
        }
        return nil
    }

    static func acceptVsock() throws -> Int32 {
        let afVsock: Int32 = 40
        let listener = socket(afVsock, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard listener >= 0 else {
            throw AgentError.noTransport("no virtio port named \(portName) and no vsock (\(String(cString: strerror(errno))))")
        }
        defer { close(listener) }
        // struct sockaddr_vm: family, reserved, port, cid (VMADDR_CID_ANY), flags and padding.
        var address = [UInt8](repeating: 0, count: 16)
        address[0] = UInt8(afVsock)
        withUnsafeBytes(of: vsockPort.littleEndian) { for (i, b) in $0.enumerated() { address[4 + i] = b } }
        withUnsafeBytes(of: UInt32.max.littleEndian) { for (i, b) in $0.enumerated() { address[8 + i] = b } }
        try sysCall("bind vsock port \(vsockPort)") {
            address.withUnsafeBytes { bind(listener, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(16)) }
        }
        try sysCall("listen on vsock") { listen(listener, 1) }
        let connection = try sysCall("accept on vsock") { accept(listener, nil, nil) }
        _ = fcntl(connection, F_SETFD, FD_CLOEXEC)
        return connection
    }
}

#if canImport(Glibc)
import Glibc
#endif
import LinuxSupport

/// Published host ports held as bound sockets for a container's life (as podman's conmon
/// holds them): a second container or a host program asking for the same port gets a clear
/// "in use" error instead of silently losing its traffic to the container's DNAT rule.
/// Unchecked Sendable: the monitor's main thread owns it for the container's life (it sits in the
/// Sendable PendingNetwork, whose network thread never touches it); `release` runs once, at the end.
public final class PortReservation: @unchecked Sendable {
    private var sockets: [Int32]
    /// The relay of the IPv6 host addresses, once `startProxy` ran.
    private var proxy: PortProxy?
    /// The mappings with every random host port (0) replaced by the port the kernel chose.
    public let mappings: [PortMapping]

    private init(sockets: [Int32], mappings: [PortMapping]) {
        self.sockets = sockets
        self.mappings = mappings
    }

    deinit { release() }

    /// Binds every mapping's host port; nothing stays bound when one fails.
    public static func reserve(_ requested: [PortMapping]) throws -> PortReservation {
        var sockets: [Int32] = []
        var resolved: [PortMapping] = []
        do {
            for mapping in requested {
                let (fd, port) = try bindFirstFree(mapping)
                sockets.append(fd)
                var copy = mapping
                copy.hostPort = port
                copy.hostPortEnd = nil
                resolved.append(copy)
            }
        } catch {
            for fd in sockets { close(fd) }
            throw error
        }
        return PortReservation(sockets: sockets, mappings: resolved)
    }

    /// Throws `portInUse` when a fixed host port cannot be bound now (nothing stays bound).
    public static func checkAvailable(_ requested: [PortMapping]) throws {
        _ = try reserve(requested.filter { $0.hostPort != 0 })
    }

    public func release() {
        proxy?.stop()
        proxy = nil
        for fd in sockets { close(fd) }
        sockets = []
    }

    /// Binds the mapping's port, or with a host range the first port of it that is free.
    private static func bindFirstFree(_ mapping: PortMapping) throws -> (Int32, UInt16) {
        guard let last = mapping.hostPortEnd, last > mapping.hostPort else { return try bind(mapping) }
        for port in mapping.hostPort...last {
            var single = mapping
            single.hostPort = port
            single.hostPortEnd = nil
            do {
                return try bind(single)
            } catch NetworkError.portInUse {
                continue
            }
        }
        throw NetworkError.portInUse(mapping)
    }

    private static func bind(_ mapping: PortMapping) throws -> (Int32, UInt16) {
        if mapping.isIPv6 { return try bindIPv6(mapping) }
        let type = mapping.proto == "udp" ? Int32(SOCK_DGRAM.rawValue) : Int32(SOCK_STREAM.rawValue)
        let fd = socket(AF_INET, type | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket for port \(mapping.hostPort)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = mapping.hostPort.bigEndian
        address.sin_addr.s_addr = (IPv4Address(mapping.hostIP.isEmpty ? "0.0.0.0" : mapping.hostIP)?.value ?? 0).bigEndian
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else {
            let error = errno
            close(fd)
            if error == EADDRINUSE || error == EACCES { throw NetworkError.portInUse(mapping) }
            if error == EADDRNOTAVAIL {
                throw NetworkError.invalidPortSpec(mapping.description, reason: "\(mapping.hostIP) is not an address of this host")
            }
            throw SystemError("bind port \(mapping.hostPort)", errno: error)
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return (fd, UInt16(bigEndian: address.sin_port))
    }

    /// An IPv6 host address: a TCP socket bound there alone (IPV6_V6ONLY, so `[::]` leaves
    /// IPv4 to the other mappings), which the monitor's `PortProxy` later listens on.
    private static func bindIPv6(_ mapping: PortMapping) throws -> (Int32, UInt16) {
        guard let ip = IPv6Address(mapping.hostIP) else {
            throw NetworkError.invalidPortSpec(mapping.description, reason: "\(mapping.hostIP) is not an IPv6 address")
        }
        let fd = socket(AF_INET6, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket for port \(mapping.hostPort)") }
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = ip.socketAddress(port: mapping.hostPort)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
        }
        guard bound == 0 else {
            let error = errno
            close(fd)
            if error == EADDRINUSE || error == EACCES { throw NetworkError.portInUse(mapping) }
            if error == EADDRNOTAVAIL || error == EAFNOSUPPORT {
                throw NetworkError.invalidPortSpec(mapping.description, reason: "\(mapping.hostIP) is not an IPv6 address of this host")
            }
            throw SystemError("bind port \(mapping.hostPort)", errno: error)
        }
        var length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return (fd, UInt16(bigEndian: address.sin6_port))
    }

    /// Serves the IPv6 host addresses of the reservation (the kernel cannot DNAT from ::1, and
    /// portmap leaves IPv6 host addresses of an IPv4 container alone): each bound socket starts
    /// listening and its connections are relayed to `address` (the container's) at the
    /// mapping's container port, as docker's userland proxy does, until `release`.
    public func startProxy(to address: String?) throws {
        let routes = zip(sockets, mappings).filter { $0.1.isIPv6 }
        guard !routes.isEmpty, proxy == nil else { return }
        guard let address, let ip = IPv4Address(address) else {
            throw NetworkError.cannotConnect("the container has no IPv4 address to relay its IPv6 published ports to")
        }
        for (fd, mapping) in routes {
            _ = try sysCall("listen on [\(mapping.hostIP)]:\(mapping.hostPort)") { listen(fd, 128) }
        }
        proxy = try PortProxy(routes: routes.map { .init(listener: $0.0, target: ip, port: $0.1.containerPort) })
    }
}

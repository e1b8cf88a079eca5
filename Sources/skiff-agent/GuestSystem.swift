#if canImport(Glibc)
import Glibc
#endif
import AgentProtocol
import CShim
import LinuxSupport

/// What the agent does to the guest before and around the container: the filesystems a Linux
/// userspace needs, leaving the initramfs for a root that pivot_root accepts, the container's
/// root filesystem from the image's disks, its network, and powering off.
enum GuestSystem {
    /// Where the agent keeps its state in the guest.
    static let runDirectory = "/run/skiff"
    static let rootfsPath = "/run/skiff/rootfs"
    /// The overlay's upper layer on the scratch disk: the container's changes.
    static let upperPath = "/run/skiff/scratch/upper"
    static let bundlePath = "/run/skiff/bundle"
    static let runtimeRoot = "/run/skiff/runtime"
    /// The files the host's spec bind-mounts over /etc/hosts, /etc/resolv.conf, /etc/hostname.
    static let hostsPath = GuestPaths.hosts
    static let resolvConfPath = GuestPaths.resolvConf
    static let hostnamePath = GuestPaths.hostname

    /// The kernel unpacks the initramfs into its "rootfs", which pivot_root refuses to leave
    /// (the runtime pivots each container's root). So the agent first moves itself onto a tmpfs
    /// mounted over / (as switch_root does) and runs again from there; the environment says
    /// which pass this is.
    static func leaveInitramfs() throws {
        if getenv("SKIFF_AGENT_ROOT") != nil { return }
        let newRoot = "/.agent-root"
        try sysCall("mkdir \(newRoot)") { mkdir(newRoot, 0o755) }
        try mount("tmpfs", newRoot, type: "tmpfs", flags: UInt(MS_NOSUID | MS_NODEV), data: "mode=0755")
        try FileIO.write(newRoot + "/init", try FileIO.read("/init"), mode: 0o755)
        try sysCall("chdir \(newRoot)") { chdir(newRoot) }
        try mount(".", "/", type: nil, flags: UInt(MS_MOVE), data: nil)
        try sysCall("chroot") { chroot(".") }
        try sysCall("chdir /") { chdir("/") }
        setenv("SKIFF_AGENT_ROOT", "1", 1)
        let argv = CStringArray(["/init"])
        // What the kernel passed to init in the environment goes on (SKIFF_PROBE among it).
        var environment = ["SKIFF_AGENT_ROOT=1", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"]
        if let probe = getenv("SKIFF_PROBE") { environment.append("SKIFF_PROBE=" + String(cString: probe)) }
        let envp = CStringArray(environment)
        execve("/init", argv.pointers, envp.pointers)
        throw SystemError("execve /init on the new root")
    }

    /// proc, sys, dev, devpts, shm, run and the cgroup2 hierarchy with its controllers enabled.
    static func mountBasics() throws {
        for directory in ["/proc", "/sys", "/dev", "/run", "/tmp"] { _ = mkdir(directory, 0o755) }
        // CShim's early constructor has mounted /proc already (the Swift runtime needs it to start).
        if access("/proc/self/exe", F_OK) != 0 {
            try mount("proc", "/proc", type: "proc", flags: UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC))
        }
        try mount("sysfs", "/sys", type: "sysfs", flags: UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC))
        try mount("devtmpfs", "/dev", type: "devtmpfs", flags: UInt(MS_NOSUID), data: "mode=0755")
        for directory in ["/dev/pts", "/dev/shm"] { _ = mkdir(directory, 0o755) }
        try mount("devpts", "/dev/pts", type: "devpts", flags: UInt(MS_NOSUID | MS_NOEXEC), data: "newinstance,ptmxmode=0666,mode=0620")
        try mount("shm", "/dev/shm", type: "tmpfs", flags: UInt(MS_NOSUID | MS_NODEV), data: "mode=1777")
        try mount("run", "/run", type: "tmpfs", flags: UInt(MS_NOSUID | MS_NODEV), data: "mode=0755")
        try mount("tmp", "/tmp", type: "tmpfs", flags: UInt(MS_NOSUID | MS_NODEV), data: "mode=1777")
        try mount("cgroup2", "/sys/fs/cgroup", type: "cgroup2", flags: UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC))
        let available = (try? FileIO.readString("/sys/fs/cgroup/cgroup.controllers")) ?? ""
        let wanted = available.split(whereSeparator: { $0 == " " || $0 == "\n" }).map { "+" + $0 }.joined(separator: " ")
        if !wanted.isEmpty { try? FileIO.writeExisting("/sys/fs/cgroup/cgroup.subtree_control", wanted) }
        for directory in [runDirectory, runDirectory + "/etc", runDirectory + "/layers", bundlePath, runtimeRoot] {
            try makeDirectory(directory)
        }
        _ = skiff_interface_up("lo")
    }

    static func makeDirectory(_ path: String) throws {
        if mkdir(path, 0o755) != 0 && errno != EEXIST { throw SystemError("mkdir \(path)") }
    }

    static func mount(_ source: String, _ target: String, type: String?, flags: UInt, data: String? = nil) throws {
        try sysCall("mount \(type ?? "") \(source) on \(target)") { Glibc.mount(source, target, type, flags, data) }
    }

    /// The block device whose virtio serial is `serial` (/dev/vdX): found by serial, not by
    /// probing order, so the host decides which disk is which.
    static func device(serial: String) throws -> String {
        let names = (try? FileIO.listDirectory("/sys/block")) ?? []
        for name in names where name.hasPrefix("vd") {
            let text = (try? FileIO.readString("/sys/block/\(name)/serial")) ?? ""
            if text.trimmed == serial { return "/dev/" + name }
        }
        throw AgentError.missingDisk(serial: serial, seen: names.sorted())
    }

    /// Mounts the layers read-only, the scratch disk read-write, and the overlay of both at
    /// `rootfsPath`. The scratch disk keeps the container's changes across stop and start.
    static func assembleRootfs(_ rootfs: GuestRootfs) throws {
        var lowers: [String] = []
        for (index, layer) in rootfs.layers.enumerated() {
            let target = "\(runDirectory)/layers/\(index)"
            try makeDirectory(target)
            try mount(try device(serial: layer.serial), target, type: layer.filesystem, flags: UInt(MS_RDONLY | MS_NODEV))
            lowers.append(target)
        }
        let scratch = runDirectory + "/scratch"
        try makeDirectory(scratch)
        try mount(try device(serial: rootfs.scratch.serial), scratch, type: rootfs.scratch.filesystem, flags: UInt(MS_NODEV))
        for directory in [scratch + "/upper", scratch + "/work"] { try makeDirectory(directory) }
        if lowers.isEmpty {
            // An image without layers (FROM scratch): overlay wants at least one lower layer.
            let empty = runDirectory + "/layers/empty"
            try makeDirectory(empty)
            lowers.append(empty)
        }
        try makeDirectory(rootfsPath)
        // overlay lists the top layer first.
        let options = "lowerdir=\(lowers.reversed().joined(separator: ":")),upperdir=\(scratch)/upper,workdir=\(scratch)/work"
        try mount("overlay", rootfsPath, type: "overlay", flags: 0, data: options)
    }

    /// Mounts each 9p share where the container's spec binds it from.
    static func mountShares(_ shares: [GuestShare]) throws {
        for share in shares {
            let target = GuestPaths.share(share.tag)
            try FileIO.makeDirectories(target, mode: 0o755)
            try mount(
                share.tag, target, type: "9p", flags: UInt(MS_NODEV) | (share.readOnly ? UInt(MS_RDONLY) : 0),
                data: "trans=virtio,version=9p2000.L,msize=262144,cache=none")
        }
    }

    /// The NIC takes the container's MAC, addresses and routes; the files its spec bind-mounts
    /// are written where the host's spec says.
    static func configureNetwork(_ network: GuestNetwork?) throws {
        try FileIO.write(hostsPath, Array((network?.hosts ?? "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n").utf8))
        try FileIO.write(resolvConfPath, Array((network?.resolvConf ?? "").utf8))
        try FileIO.write(hostnamePath, Array(((network?.hostname ?? "") + "\n").utf8))
        guard let network else { return }
        for (index, interface) in network.interfaces.enumerated() {
            let name = "eth\(index)"
            guard let mac = GuestAddresses.mac(interface.mac) else { throw AgentError.badSetup("MAC address '\(interface.mac)'") }
            try sysCall("set the MAC address and MTU of \(name)") { skiff_interface_set_link(name, mac, Int32(interface.mtu)) }
            for cidr in interface.addresses where !cidr.contains(":") {
                guard let (address, prefix) = GuestAddresses.ipv4(cidr) else { throw AgentError.badSetup("address '\(cidr)'") }
                try sysCall("add \(cidr) to \(name)") { skiff_interface_add_ipv4(name, address, Int32(prefix)) }
            }
            try sysCall("bring \(name) up") { skiff_interface_up(name) }
        }
        for route in network.routes where !route.destination.contains(":") {
            guard let (destination, prefix) = GuestAddresses.ipv4(route.destination),
                let (gateway, _) = GuestAddresses.ipv4(route.gateway + "/32")
            else {
                throw AgentError.badSetup("route to '\(route.destination)' via '\(route.gateway)'")
            }
            try sysCall("add the route to \(route.destination)") { skiff_route_add_ipv4(destination, Int32(prefix), gateway) }
        }
    }

    /// Syncs and ends the guest (a reset, which both backends take as the VM's end); the backend
    /// sees the VM end.
    static func powerOff() -> Never {
        _ = skiff_end_guest()
        // Only reached when reboot(2) failed: PID 1 exiting panics the kernel, which ends the VM too.
        exit(1)
    }
}

/// Addresses as the host's CNI results write them.
enum GuestAddresses {
    /// "02:42:ac:11:00:02" into six bytes.
    static func mac(_ text: String) -> [UInt8]? {
        let parts = text.split(separator: ":")
        guard parts.count == 6 else { return nil }
        let bytes = parts.compactMap { $0.count == 2 ? UInt8($0, radix: 16) : nil }
        return bytes.count == 6 ? bytes : nil
    }

    /// "10.88.0.5/16" into the address in network byte order and the prefix length.
    static func ipv4(_ cidr: String) -> (UInt32, Int)? {
        let halves = cidr.split(separator: "/", omittingEmptySubsequences: false)
        guard halves.count == 2, let prefix = Int(halves[1]), (0...32).contains(prefix) else { return nil }
        let octets = halves[0].split(separator: ".", omittingEmptySubsequences: false).compactMap { UInt8($0) }
        guard octets.count == 4 else { return nil }
        // Network byte order: the first octet in the lowest-addressed byte.
        let value = UInt32(octets[0]) | UInt32(octets[1]) << 8 | UInt32(octets[2]) << 16 | UInt32(octets[3]) << 24
        return (value, prefix)
    }
}

enum AgentError: Error, CustomStringConvertible {
    case missingDisk(serial: String, seen: [String])
    case badSetup(String)
    case noTransport(String)

    var description: String {
        switch self {
        case .missingDisk(let serial, let seen):
            return "no virtio disk has the serial '\(serial)' (disks: \(seen.joined(separator: ", ")))"
        case .badSetup(let what): return "the host sent an invalid \(what)"
        case .noTransport(let why): return "no channel to the host: \(why)"
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
import AgentProtocol
import CShim
import LinuxSupport

/// The VM's NIC joined to the container's network namespace, which the same CNI path as a
/// process container's made: a tap beside the veth (`eth0`), each one's ingress redirected to the
/// other with tc (as Kata does), so the guest's NIC, carrying the veth's MAC and address, is the
/// container on its network: published ports, the bridge and name resolution work unchanged.
enum MicroVMNetwork {
    static let tapName = "tap0"
    static let vethName = "eth0"

    /// The tap's descriptor (for the backend) and what the agent configures in the guest.
    struct Attachment {
        var tap: Int32
        var mac: String
        var guest: GuestNetwork
    }

    /// The tc commands that join `tap` and `veth` both ways (pure, unit-tested).
    static func mirrorCommands(tap: String = tapName, veth: String = vethName) -> [[String]] {
        [(veth, tap), (tap, veth)].flatMap { from, to in
            [
                ["qdisc", "add", "dev", from, "ingress"],
                [
                    "filter", "add", "dev", from, "parent", "ffff:", "protocol", "all", "u32", "match", "u8", "0", "0",
                    "action", "mirred", "egress", "redirect", "dev", to,
                ],
            ]
        }
    }

    /// Makes the tap in `netns` and the redirects; nothing stays when it fails (the tap goes with
    /// its descriptor, the filters with the namespace).
    static func attach(
        netns: String, settings: ContainerNetworkSettings, hosts: String, resolvConf: String,
        hostname: String
    ) throws -> Attachment {
        guard let address = settings.ipAddress, let prefix = settings.prefixLength, let mac = settings.macAddress else {
            throw MicroVMError.agentFailed("the container's network gave it no IPv4 address and MAC to hand to the guest", detail: "")
        }
        let tc = (["/usr/sbin/tc", "/sbin/tc"] as [String]).first { access($0, X_OK) == 0 }
        let nsenter = (["/usr/bin/nsenter", "/bin/nsenter"] as [String]).first { access($0, X_OK) == 0 }
        guard let tc, let nsenter else {
            throw EngineError.startFailed("--vm on a network needs tc (iproute2) and nsenter (util-linux) to join the VM to it")
        }
        let tap = try sysCall("make \(tapName) in \(netns)") { skiff_tap_open_in_netns(netns, tapName) }
        do {
            for command in mirrorCommands() {
                let result = try Subprocess.run(
                    path: nsenter, args: [nsenter, "--net=" + netns, tc] + command,
                    env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], captureOutput: true, captureStderr: true)
                guard result.status == 0 else {
                    throw EngineError.startFailed(
                        "tc \(command.joined(separator: " ")) in the container's network namespace failed: "
                            + String(decoding: result.output, as: UTF8.self))
                }
            }
        } catch {
            close(tap)
            throw error
        }
        let routes = settings.gateway.map { [GuestNetwork.Route(destination: "0.0.0.0/0", gateway: $0)] } ?? []
        let guest = GuestNetwork(
            interfaces: [.init(mac: mac, addresses: ["\(address)/\(prefix)"], mtu: 1500)], routes: routes,
            hosts: hosts, resolvConf: resolvConf, hostname: hostname)
        return Attachment(tap: tap, mac: mac, guest: guest)
    }
}

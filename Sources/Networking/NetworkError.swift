/// Everything container networking can refuse or fail at, each message saying what was wrong
/// and what to do. The engine maps them all to docker's exit code 125.
public enum NetworkError: Error, CustomStringConvertible, Sendable, Equatable {
    case invalidPortSpec(String, reason: String)
    case portInUse(PortMapping)
    case invalidSubnet(String, reason: String)
    case invalidGateway(String, reason: String)
    case subnetInUse(subnet: String, by: String)
    case noFreeSubnet
    case invalidName(String)
    case networkExists(String)
    case noSuchNetwork(String)
    case networkInUse(name: String, containers: [String])
    case pluginMissing(path: String)
    case pluginFailed(plugin: String, command: String, message: String)
    case badPluginResult(plugin: String, reason: String)
    case namespace(String)
    case corruptState(path: String, reason: String)
    case firewall(String)
    case alreadyConnected(container: String, network: String)
    case notConnected(container: String, network: String)
    case cannotConnect(String)
    case invalidMACAddress(String, reason: String)
    /// A `network create --opt` that is not understood or out of range.
    case invalidOption(String)
    /// A `network ls --filter` (or the API's filters) naming a key or value skiff does not take.
    case invalidFilter(String)

    public var description: String {
        switch self {
        case .invalidPortSpec(let text, let reason):
            return "invalid port specification '\(text)': \(reason); use -p [IP:][HOST_PORT:]CONTAINER_PORT[/tcp|/udp]"
        case .portInUse(let mapping):
            let address = mapping.hostAddressText
            if let last = mapping.hostPortEnd {
                return
                    "cannot publish a port of \(address):\(mapping.hostPort)-\(last)/\(mapping.proto): every port of the range is in use (by other containers or host programs); choose another range"
            }
            return
                "cannot publish port \(address):\(mapping.hostPort)/\(mapping.proto): the port is already in use (by another container or a host program); choose another host port"
        case .invalidSubnet(let text, let reason):
            return "invalid subnet '\(text)': \(reason); give "
                + (text.contains(":") ? "an IPv6 CIDR such as fd00:1::/64" : "an IPv4 CIDR such as 10.222.5.0/24")
        case .invalidGateway(let text, let reason):
            return "invalid gateway '\(text)': \(reason)"
        case .subnetInUse(let subnet, let owner):
            return "subnet \(subnet) overlaps \(owner): choose another --subnet"
        case .noFreeSubnet:
            return "no free /24 left in 10.213.0.0-10.220.255.0 for a new network: remove unused networks or give --subnet"
        case .invalidName(let name):
            return "invalid network name '\(name)': use [a-zA-Z0-9][a-zA-Z0-9_.-]* (at most 64 characters)"
        case .networkExists(let name):
            return "network \(name) already exists: choose another name or remove it with `skiff network rm \(name)`"
        case .noSuchNetwork(let name):
            return "network \(name) not found: create it with `skiff network create \(name)` or use bridge, host or none"
        case .networkInUse(let name, let containers):
            return "network \(name) is in use by container(s) \(containers.joined(separator: ", ")): remove them first"
        case .pluginMissing(let path):
            return "the CNI plugin \(path) is missing: install containernetworking-plugins (scripts/install-deps.sh)"
        case .pluginFailed(let plugin, let command, let message):
            return "CNI plugin \(plugin) failed on \(command): \(message)"
        case .badPluginResult(let plugin, let reason):
            return "CNI plugin \(plugin) returned an unusable result: \(reason)"
        case .namespace(let message):
            return "network namespace: \(message)"
        case .corruptState(let path, let reason):
            return "network state \(path) is unreadable (\(reason)): remove it and retry"
        case .firewall(let message):
            return "iptables: \(message)"
        case .alreadyConnected(let container, let network):
            return
                "endpoint with name \(container) already exists in network \(network): disconnect it first (skiff network disconnect \(network) \(container))"
        case .notConnected(let container, let network):
            return "container \(container) is not connected to network \(network) (see `skiff inspect \(container)`)"
        case .cannotConnect(let message):
            return message
        case .invalidMACAddress(let text, let reason):
            return "invalid --mac-address '\(text)': \(reason); give a unicast address such as 02:42:ac:11:00:02"
        case .invalidOption(let message):
            return "invalid network option \(message)"
        case .invalidFilter(let message):
            return message
        }
    }
}

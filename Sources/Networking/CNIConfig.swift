import JSON

/// The CNI plugin chain of a container on a bridge network, and the configuration each plugin
/// reads on stdin (CNI spec: the network's `cniVersion` and `name`, the plugin's own keys,
/// `prevResult` from the plugin before it, `runtimeConfig` for capabilities). Pure, so unit-tested.
public enum CNIConfig {
    public static let version = "1.0.0"

    /// bridge (with host-local IPAM), then portmap only when ports are published, then firewall
    /// only when the host's FORWARD policy drops: a plugin with nothing to do is not run (each is
    /// an exec of a Go program). Loopback is brought up when the namespace is made.
    public static func plugins(network: NetworkDefinition, ipamDirectory: String, ports: [PortMapping], firewall: Bool) -> [JSONValue] {
        var bridge: [(String, JSONValue)] = [
            ("type", .string("bridge")),
            ("bridge", .string(network.bridge)),
            ("isGateway", .bool(true)),
            ("ipMasq", .bool(false)),
            ("hairpinMode", .bool(true)),
            (
                "ipam",
                .object([
                    ("type", .string("host-local")),
                    ("ranges", .array(ranges(network))),
                    ("routes", .array(routes(network))),
                    ("dataDir", .string(ipamDirectory)),
                ])
            ),
        ]
        if let mtu = network.mtu { bridge.append(("mtu", .number(JSONNumber(mtu)))) }
        var plugins: [JSONValue] = [.object(bridge)]
        // IPv6 host addresses are the monitor's proxy's (`PortProxy`): portmap cannot DNAT from ::1.
        let natted = ports.filter { !$0.isIPv6 }
        if !natted.isEmpty {
            let mappings: [JSONValue] = natted.map { port in
                .object([
                    ("hostPort", .number(JSONNumber(Int(port.hostPort)))),
                    ("containerPort", .number(JSONNumber(Int(port.containerPort)))),
                    ("protocol", .string(port.proto)),
                    ("hostIP", .string(port.hostIP)),
                ])
            }
            plugins.append(
                .object([
                    ("type", .string("portmap")),
                    ("capabilities", .object([("portMappings", .bool(true))])),
                    // snat: connections from the host's own 127.0.0.1 are masqueraded (portmap sets
                    // route_localnet on the bridge for them), so `curl 127.0.0.1:HOSTPORT` works.
                    ("snat", .bool(true)),
                    ("runtimeConfig", .object([("portMappings", .array(mappings))])),
                ]))
        }
        if firewall {
            plugins.append(.object([("type", .string("firewall")), ("backend", .string("iptables"))]))
        }
        return plugins
    }

    /// host-local's range sets: the IPv4 subnet, and with `--ipv6` the IPv6 one (an address of each).
    static func ranges(_ network: NetworkDefinition) -> [JSONValue] {
        var ranges: [JSONValue] = [.array([.object([("subnet", .string(network.subnet)), ("gateway", .string(network.gateway))])])]
        if let subnet6 = network.subnet6, let gateway6 = network.gateway6 {
            ranges.append(.array([.object([("subnet", .string(subnet6)), ("gateway", .string(gateway6))])]))
        }
        return ranges
    }

    static func routes(_ network: NetworkDefinition) -> [JSONValue] {
        [.object([("dst", .string("0.0.0.0/0"))])] + (network.enableIPv6 ? [.object([("dst", .string("::/0"))])] : [])
    }

    /// The plugin's `type`: the executable's name in CNI_PATH.
    public static func type(of plugin: JSONValue) -> String {
        if case .string(let type)? = plugin["type"] { return type }
        return ""
    }

    /// What one plugin reads on stdin for one command.
    public static func invocation(plugin: JSONValue, networkName: String, prevResult: JSONValue?) -> [UInt8] {
        var members: [(key: String, value: JSONValue)] = [("cniVersion", .string(version)), ("name", .string(networkName))]
        if case .object(let own) = plugin {
            members += own.filter { $0.key != "cniVersion" && $0.key != "name" && $0.key != "prevResult" }
        }
        if let prevResult { members.append(("prevResult", prevResult)) }
        return JSONValue.object(members).serialized()
    }
}

import ArgumentParser
import ContainerRuntime
import Engine
import Foundation
import Networking
import Templates

/// `skiff network create|ls|rm|inspect|connect|disconnect`: user bridge networks of the store.
struct NetworkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "network", abstract: "Manage bridge networks.",
        subcommands: [
            NetworkCreateCommand.self, NetworkListCommand.self, NetworkRemoveCommand.self, NetworkInspectCommand.self,
            NetworkConnectCommand.self, NetworkDisconnectCommand.self, NetworkPruneCommand.self,
        ])
}

struct NetworkCreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a bridge network.")

    @OptionGroup var engineOptions: EngineOptions
    @Option(
        help:
            "Subnet in CIDR form, IPv4 (default: a free /24 in 10.213.0.0-10.220.255.0) and with --ipv6 IPv6 (default: a /64 of a unique local fd00::/8 prefix); repeat for both."
    ) var subnet: [String] = []
    @Option(help: "Gateway address (default: the subnet's first address); one per subnet.") var gateway: [String] = []
    @Flag(name: .customLong("ipv6"), help: "Dual stack: containers get an IPv6 address too.") var ipv6 = false
    @Flag(help: "No traffic between the network and anything beyond its bridge (the host still reaches it).") var `internal` = false
    @Option(help: "Set metadata on the network (KEY=VALUE); repeatable.") var label: [String] = []
    @Option(
        name: [.customShort("o"), .customLong("opt")],
        help: "Driver option KEY=VALUE: com.docker.network.driver.mtu=N (the bridge's and containers' MTU); repeatable.")
    var opt: [String] = []
    @Option(name: [.customShort("d"), .customLong("driver")], help: "Driver (only bridge).") var driver: String = "bridge"
    @Argument(help: "Network name.") var name: String

    func run() async throws {
        try await withEngineErrors {
            guard driver == "bridge" else { throw EngineError.invalidOption("network driver '\(driver)' is not supported: use bridge") }
            let plan = try NetworkAddressing(subnets: subnet, gateways: gateway, ipv6: ipv6)
            let mtu = try Self.mtu(from: opt)
            let engine = try engineOptions.openEngine()
            let network = try engine.networks.create(
                name: name, subnet: plan.subnet, gateway: plan.gateway, labels: try LabelInput.parse(label), ipv6: ipv6,
                subnet6: plan.subnet6, gateway6: plan.gateway6, internal: `internal`, mtu: mtu)
            engine.events.record(.network("create", network))
            print(network.id)
        }
    }
}

extension NetworkListCommand {
    /// docker's `network ls` filters (`NetworkFilter`, the API's too): KEY=VALUE each.
    static func filtered(_ networks: [NetworkDefinition], _ filters: [String], users: (String) -> Int) throws -> [NetworkDefinition] {
        var byKey: [String: [String]] = [:]
        for filter in filters {
            let parts = filter.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw EngineError.invalidOption("invalid filter '\(filter)': use KEY=VALUE") }
            byKey[parts[0], default: []].append(parts[1])
        }
        do {
            return try networks.filter { try NetworkFilter.matches($0, filters: byKey, users: users($0.name)) }
        } catch {
            throw EngineError.invalidOption("\(error)")
        }
    }
}

extension NetworkCreateCommand {
    /// The MTU of `--opt com.docker.network.driver.mtu=N`; any other option is refused, naming
    /// the ones skiff's bridge driver takes (docker's other bridge options have no meaning here).
    static func mtu(from options: [String]) throws -> Int? {
        var mtu: Int?
        for option in options {
            let parts = option.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, parts[0] == "com.docker.network.driver.mtu" else {
                throw EngineError.invalidOption(
                    "network option '\(option)' is not supported: the bridge driver takes com.docker.network.driver.mtu=N")
            }
            guard let value = Int(parts[1]) else {
                throw EngineError.invalidOption("network option '\(option)': the MTU must be a number")
            }
            mtu = value
        }
        return mtu
    }
}

struct NetworkListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List networks.", aliases: ["list"])

    @OptionGroup var engineOptions: EngineOptions
    @Flag(name: [.customShort("q"), .customLong("quiet")], help: "Print only network IDs.") var quiet = false
    @Flag(name: .customLong("no-trunc"), help: "Print full network IDs.") var noTrunc = false
    @Option(
        name: [.customShort("f"), .customLong("filter")],
        help:
            "Only networks matching: name=SUBSTRING, id=PREFIX, label=KEY[=VALUE], driver=bridge, scope=local, type=custom|builtin, dangling=true|false; repeatable."
    )
    var filter: [String] = []
    @Option(
        help:
            "A Go template per network over .ID .Name .Driver .Scope .IPv6 .Internal .Labels .CreatedAt (and .Label \"key\"); 'table TEMPLATE' adds a header."
    ) var format: String?

    /// A `--format` row: docker's fields for `network ls`.
    struct Row: Encodable {
        var ID, Name, Driver, Scope, IPv6, Internal, Labels, CreatedAt: String
        static let headers = Row(
            ID: "NETWORK ID", Name: "NAME", Driver: "DRIVER", Scope: "SCOPE", IPv6: "IPV6", Internal: "INTERNAL", Labels: "LABELS",
            CreatedAt: "CREATED AT")
    }

    func run() async throws {
        try await withEngineErrors {
            let engine = try engineOptions.openEngine()
            let containers = engine.store.all()
            let networks = try Self.filtered(engine.networks.all(), filter) { name in
                containers.filter { $0.network?.isConnected(to: name) ?? false }.count
            }
            let id = { (network: NetworkDefinition) in noTrunc ? network.id : String(network.id.prefix(12)) }
            if quiet {
                for network in networks { print(id(network)) }
                return
            }
            if let format {
                let rows = networks.map { network in
                    Row(
                        ID: id(network), Name: network.name, Driver: network.driver, Scope: "local", IPv6: String(network.enableIPv6),
                        Internal: String(network.isInternal),
                        Labels: (network.labels ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","),
                        CreatedAt: network.created)
                }
                try TemplateOutput.printRows(
                    rows, format: format, headers: Row.headers,
                    methods: networks.map { PsCommand.templateMethods(labels: $0.labels ?? [:]) },
                    headerMethods: ["Label": GoTemplate.Method(parameters: 1) { _ in .string("LABEL") }])
                return
            }
            var lines = [["NETWORK ID", "NAME", "DRIVER", "SUBNET", "GATEWAY", "BRIDGE"]]
            for network in networks {
                lines.append([String(network.id.prefix(12)), network.name, network.driver, network.subnet, network.gateway, network.bridge])
            }
            let widths = (0..<6).map { column in lines.map { $0[column].count }.max() ?? 0 }
            for line in lines {
                print(
                    line.enumerated().map {
                        $0.offset == 5 ? $0.element : $0.element.padding(toLength: widths[$0.offset] + 3, withPad: " ", startingAt: 0)
                    }.joined())
            }
        }
    }
}

struct NetworkRemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove networks no container uses.", aliases: ["remove"])

    @OptionGroup var engineOptions: EngineOptions
    @Argument(help: "Network names or IDs.") var names: [String]

    func run() async throws {
        try await withEngineErrors {
            let engine = try engineOptions.openEngine()
            var failed: (any Error)?
            for name in names {
                do {
                    try engine.removeNetwork(engine.networks.name(of: name))
                    print(name)
                } catch {
                    printEngineError("\(error)")
                    failed = error
                }
            }
            if failed != nil { throw ExitCode(1) }
        }
    }
}

struct NetworkInspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Show networks as JSON.")

    @OptionGroup var engineOptions: EngineOptions
    @Option(name: [.customShort("f"), .customLong("format")], help: "Output: json (default) or a Go template such as '{{.State.Pid}}'.")
    var format: String?
    @Argument(help: "Network names or IDs.") var names: [String]

    struct Config: Codable {
        var Subnet: String
        var Gateway: String
    }
    struct IPAM: Codable {
        var Driver: String
        var Config: [Config]
    }
    struct Endpoint: Codable {
        var Name: String
        var IPv4Address: String
        var MacAddress: String
        var IPv6Address = ""
    }
    struct View: Codable {
        var Name: String
        var Id: String
        var Created: String
        var Driver: String
        var EnableIPv6 = false
        var Internal = false
        var IPAM: IPAM
        var Options: [String: String]
        var Labels: [String: String] = [:]
        var Containers: [String: Endpoint]
    }

    func run() async throws {
        try await withEngineErrors {
            let engine = try engineOptions.openEngine()
            let views = try names.map { try Self.view(engine: engine, name: $0) }
            try TemplateOutput.print(views, format: format)
        }
    }

    /// The document of one network (also what `skiff inspect` shows for a network).
    static func view(engine: Engine, name: String) throws -> View {
        let network = try engine.networks.definition(engine.networks.name(of: name))
        var endpoints: [String: Endpoint] = [:]
        for container in engine.store.all() {
            guard let settings = container.allNetworkSettings.first(where: { $0.network == network.name }),
                let ip = settings.ipAddress,
                engine.liveStatus(container).isRunning
            else { continue }
            endpoints[container.id] = Endpoint(
                Name: container.name, IPv4Address: "\(ip)/\(settings.prefixLength ?? 24)", MacAddress: settings.macAddress ?? "",
                IPv6Address: settings.ipv6Address.map { "\($0)/\(settings.ipv6PrefixLength ?? 64)" } ?? "")
        }
        var configs = [Config(Subnet: network.subnet, Gateway: network.gateway)]
        if let subnet6 = network.subnet6 { configs.append(Config(Subnet: subnet6, Gateway: network.gateway6 ?? "")) }
        return View(
            Name: network.name, Id: network.id, Created: network.created, Driver: network.driver, EnableIPv6: network.enableIPv6,
            Internal: network.isInternal, IPAM: IPAM(Driver: "host-local", Config: configs), Options: network.driverOptions,
            Labels: network.labels ?? [:], Containers: endpoints)
    }
}

/// Runs a network command's engine call with docker's exit code for its refusals (1).
private func withNetworkErrors(_ body: () throws -> Void) throws {
    do { try body() } catch let error as EngineError where error.exitCode != 125 {
        printEngineError(error.description)
        throw ExitCode(error.exitCode)
    } catch {
        printEngineError("\(error)")
        throw ExitCode(1)
    }
}

/// `skiff network connect`: one more interface on NETWORK for CONTAINER (now when it runs,
/// at its start otherwise), as docker's.
struct NetworkConnectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "connect", abstract: "Connect a container to a network.")

    @OptionGroup var engineOptions: EngineOptions
    @Option(help: "A name the network's other containers resolve this one by (repeatable).") var alias: [String] = []
    @Option(help: "IPv4 address on the network (default: the next free one).") var ip: String?
    @Argument(help: "Network name or ID.") var network: String
    @Argument(help: "Container name or ID.") var container: String

    func run() async throws {
        let engine = try engineOptions.openEngine()
        try withNetworkErrors {
            try engine.connectNetwork(engine.networks.name(of: network), container: container, aliases: alias, ipAddress: ip)
        }
    }
}

/// `skiff network disconnect`: the container's interface on NETWORK and its names there go away.
struct NetworkDisconnectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "disconnect", abstract: "Disconnect a container from a network.")

    @OptionGroup var engineOptions: EngineOptions
    @Flag(name: [.customShort("f"), .customLong("force")], help: "No error when the network is gone or the container is not on it.")
    var force = false
    @Argument(help: "Network name or ID.") var network: String
    @Argument(help: "Container name or ID.") var container: String

    func run() async throws {
        let engine = try engineOptions.openEngine()
        try withNetworkErrors { try engine.disconnectNetwork(engine.networks.name(of: network), container: container, force: force) }
    }
}

/// `network create`'s --subnet and --gateway, each given once per address family (docker's
/// dual-stack form `--ipv6 --subnet 10.1.0.0/24 --subnet fd00:1::/64`), sorted into the IPv4 and
/// IPv6 ones; each gateway goes with the subnet of its family.
struct NetworkAddressing {
    var subnet: String?
    var gateway: String?
    var subnet6: String?
    var gateway6: String?

    init(subnets: [String], gateways: [String], ipv6: Bool) throws {
        for text in subnets {
            let isIPv6 = text.contains(":")
            if isIPv6 ? subnet6 != nil : subnet != nil {
                throw EngineError.invalidOption("--subnet \(text): one IPv4 and one IPv6 subnet at most")
            }
            if isIPv6 { subnet6 = text } else { subnet = text }
        }
        for text in gateways {
            let isIPv6 = text.contains(":")
            guard isIPv6 ? subnet6 != nil : subnet != nil else {
                throw EngineError.invalidOption("--gateway \(text) needs a --subnet of its address family")
            }
            if isIPv6 ? gateway6 != nil : gateway != nil {
                throw EngineError.invalidOption("--gateway \(text): one gateway per subnet")
            }
            if isIPv6 { gateway6 = text } else { gateway = text }
        }
        if subnet6 != nil, !ipv6 {
            throw EngineError.invalidOption("--subnet \(subnet6 ?? ""): an IPv6 subnet needs --ipv6 (a dual-stack network)")
        }
    }
}

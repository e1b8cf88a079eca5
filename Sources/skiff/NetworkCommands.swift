import ArgumentParser
import ContainerRuntime
import Engine
import Foundation
import Networking

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
    @Option(name: [.customShort("d"), .customLong("driver")], help: "Driver (only bridge).") var driver: String = "bridge"
    @Argument(help: "Network name.") var name: String

    func run() async throws {
        try await withEngineErrors {
            guard driver == "bridge" else { throw EngineError.invalidOption("network driver '\(driver)' is not supported: use bridge") }
            let plan = try NetworkAddressing(subnets: subnet, gateways: gateway, ipv6: ipv6)
            let engine = try engineOptions.openEngine()
            let network = try engine.networks.create(
                name: name, subnet: plan.subnet, gateway: plan.gateway, ipv6: ipv6, subnet6: plan.subnet6, gateway6: plan.gateway6)
            engine.events.record(.network("create", network))
            print(network.id)
        }
    }
}

struct NetworkListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List networks.", aliases: ["list"])

    @OptionGroup var engineOptions: EngineOptions
    @Flag(name: [.customShort("q"), .customLong("quiet")], help: "Print only names.") var quiet = false

    func run() async throws {
        try await withEngineErrors {
            let engine = try engineOptions.openEngine()
            let networks = engine.networks.all()
            if quiet {
                for network in networks { print(network.name) }
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
    @Argument(help: "Network names.") var names: [String]

    func run() async throws {
        try await withEngineErrors {
            let engine = try engineOptions.openEngine()
            var failed: (any Error)?
            for name in names {
                do {
                    try engine.removeNetwork(name)
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
    @Argument(help: "Network names.") var names: [String]

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
        var IPAM: IPAM
        var Options: [String: String]
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
        let network = try engine.networks.definition(name)
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
            IPAM: IPAM(Driver: "host-local", Config: configs),
            Options: ["com.docker.network.bridge.name": network.bridge], Containers: endpoints)
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
    @Argument(help: "Network name.") var network: String
    @Argument(help: "Container name or ID.") var container: String

    func run() async throws {
        let engine = try engineOptions.openEngine()
        try withNetworkErrors { try engine.connectNetwork(network, container: container, aliases: alias, ipAddress: ip) }
    }
}

/// `skiff network disconnect`: the container's interface on NETWORK and its names there go away.
struct NetworkDisconnectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "disconnect", abstract: "Disconnect a container from a network.")

    @OptionGroup var engineOptions: EngineOptions
    @Flag(name: [.customShort("f"), .customLong("force")], help: "No error when the network is gone or the container is not on it.")
    var force = false
    @Argument(help: "Network name.") var network: String
    @Argument(help: "Container name or ID.") var container: String

    func run() async throws {
        let engine = try engineOptions.openEngine()
        try withNetworkErrors { try engine.disconnectNetwork(network, container: container, force: force) }
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

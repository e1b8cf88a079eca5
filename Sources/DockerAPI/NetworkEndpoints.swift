import Engine
import LinuxSupport
import Networking

/// The body of `POST /networks/create` (docker's NetworkCreateRequest). Tolerant as docker is:
/// unknown fields are ignored; what skiff's bridge networks cannot do is refused by name.
struct NetworkCreateBody: Decodable {
    struct IPAMConfigBody: Decodable {
        var Subnet: String?
        var Gateway: String?
        var IPRange: String?
        var AuxiliaryAddresses: [String: String]?
    }
    struct IPAMBody: Decodable {
        var Driver: String?
        var Config: [IPAMConfigBody]?
        var Options: [String: String]?
    }
    var Name: String?
    var Driver: String?
    var Internal: Bool?
    var Attachable: Bool?
    var EnableIPv6: Bool?
    var Labels: [String: String]?
    var Options: [String: String]?
    var IPAM: IPAMBody?

    /// What `NetworkStore.create` needs, or the reason skiff cannot make this network.
    func validated() throws(APIError) -> (name: String, subnet: String?, gateway: String?, labels: [String: String]) {
        guard let name = Name, !name.isEmpty else { throw .badRequest("Name is required: the network's name") }
        if let driver = Driver, !driver.isEmpty, driver != "bridge" {
            throw .badRequest("network driver \"\(driver)\" is not supported by skiff: use bridge")
        }
        if Internal == true {
            throw .badRequest("internal networks are not supported by skiff yet: its bridge networks always route out through the host")
        }
        if EnableIPv6 == true { throw .badRequest("IPv6 networks are not supported by skiff: its bridge networks are IPv4 only") }
        if let options = Options, !options.isEmpty {
            throw .badRequest("network driver options (\(options.keys.sorted().joined(separator: ", "))) are not supported by skiff")
        }
        if let driver = IPAM?.Driver, !driver.isEmpty, driver != "default" {
            throw .badRequest("IPAM driver \"\(driver)\" is not supported by skiff: use default")
        }
        let configs = IPAM?.Config ?? []
        guard configs.count <= 1 else { throw .badRequest("skiff's networks have one IPv4 subnet: give at most one IPAM Config") }
        let config = configs.first
        if let range = config?.IPRange, !range.isEmpty {
            throw .badRequest("IPAM IPRange is not supported by skiff: give only Subnet and Gateway")
        }
        if let aux = config?.AuxiliaryAddresses, !aux.isEmpty { throw .badRequest("IPAM AuxiliaryAddresses are not supported by skiff") }
        let subnet = config?.Subnet.flatMap { $0.isEmpty ? nil : $0 }
        let gateway = config?.Gateway.flatMap { $0.isEmpty ? nil : $0 }
        if gateway != nil && subnet == nil { throw .badRequest("an IPAM Gateway needs its Subnet") }
        return (name, subnet, gateway, Labels ?? [:])
    }
}

/// docker's network document (`GET /networks/{id}`, and each entry of `GET /networks`).
struct NetworkResource: Encodable {
    struct IPAMConfigView: Encodable {
        var Subnet: String
        var Gateway: String
    }
    struct IPAMView: Encodable {
        var Driver: String
        var Options: [String: String]?
        var Config: [IPAMConfigView]
    }
    struct Endpoint: Encodable {
        var Name: String
        var EndpointID: String
        var MacAddress: String
        var IPv4Address: String
        var IPv6Address: String
    }
    struct ConfigFromView: Encodable { var Network: String }
    var Name: String
    var Id: String
    var Created: String
    var Scope: String
    var Driver: String
    var EnableIPv4: Bool
    var EnableIPv6: Bool
    var IPAM: IPAMView
    var Internal: Bool
    var Attachable: Bool
    var Ingress: Bool
    var ConfigFrom: ConfigFromView
    var ConfigOnly: Bool
    var Containers: [String: Endpoint]
    var Options: [String: String]
    var Labels: [String: String]
}

extension APIError {
    static func forbidden(_ message: String) -> APIError { APIError(.forbidden, message) }
}

extension DockerService {
    /// A network by name, or by its ID or a unique prefix of it (docker's lookup order).
    func network(_ reference: String) throws -> NetworkDefinition {
        let networks = engine.networks
        if (try? NetworkStore.validate(name: reference)) != nil {
            if reference == NetworkStore.defaultNetworkName { return try networks.resolve(reference) }
            if let definition = try? networks.definition(reference) { return definition }
        }
        let matches = networks.all().filter { $0.id == reference || (!reference.isEmpty && $0.id.hasPrefix(reference)) }
        if matches.count > 1 { throw APIError.badRequest("network \(reference) is ambiguous (\(matches.count) matches found)") }
        guard let match = matches.first else { throw APIError.notFound("network \(reference) not found") }
        return match
    }

    func networkResource(_ network: NetworkDefinition, containers: [EngineContainer]) -> NetworkResource {
        var endpoints: [String: NetworkResource.Endpoint] = [:]
        for container in containers where engine.liveStatus(container).isRunning {
            guard let settings = container.allNetworkSettings.first(where: { $0.network == network.name }), let ip = settings.ipAddress
            else { continue }
            endpoints[container.id] = .init(
                Name: container.name, EndpointID: String(container.id.prefix(32)) + String(network.id.prefix(32)),
                MacAddress: settings.macAddress ?? "", IPv4Address: "\(ip)/\(settings.prefixLength ?? 24)", IPv6Address: "")
        }
        return NetworkResource(
            Name: network.name, Id: network.id, Created: network.created, Scope: "local", Driver: network.driver, EnableIPv4: true,
            EnableIPv6: false,
            IPAM: .init(Driver: "default", Options: nil, Config: [.init(Subnet: network.subnet, Gateway: network.gateway)]),
            Internal: network.isInternal, Attachable: false, Ingress: false, ConfigFrom: .init(Network: ""), ConfigOnly: false,
            Containers: endpoints, Options: network.driverOptions, Labels: network.labels ?? [:])
    }

    /// How many containers of the store (any state) are on the network.
    func networkUsers(_ name: String, containers: [EngineContainer]) -> Int {
        containers.filter { $0.network?.isConnected(to: name) ?? false }.count
    }

    func listNetworks(_ call: Call) throws {
        let filters = try Self.parseFilters(call.query["filters"])
        let containers = engine.store.all()
        var result: [NetworkResource] = []
        do {
            for network in engine.networks.all()
            where try NetworkFilter.matches(network, filters: filters, users: networkUsers(network.name, containers: containers)) {
                result.append(networkResource(network, containers: containers))
            }
        } catch {
            throw APIError.badRequest("\(error)")
        }
        call.responder.sendJSON(result)
    }

    func inspectNetwork(_ call: Call, _ reference: String) throws {
        let network = try network(reference)
        call.responder.sendJSON(networkResource(network, containers: engine.store.all()))
    }

    struct NetworkCreateResponse: Encodable {
        var Id: String
        var Warning: String
    }

    func createNetwork(_ call: Call) throws {
        let body = try APIJSON.decode(NetworkCreateBody.self, from: call.request.body)
        let request = try body.validated()
        let definition: NetworkDefinition
        do {
            definition = try engine.networks.create(
                name: request.name, subnet: request.subnet, gateway: request.gateway, labels: request.labels)
        } catch NetworkError.networkExists {
            throw APIError.conflict("network with name \(request.name) already exists")
        }
        engine.events.record(.network("create", definition))
        call.responder.sendJSON(NetworkCreateResponse(Id: definition.id, Warning: ""), status: .created)
    }

    func removeNetwork(_ call: Call, _ reference: String) throws {
        let network = try network(reference)
        try engine.removeNetwork(network.name)
        call.responder.send(status: .noContent, body: [])
    }

    struct NetworkPruneResponse: Encodable { var NetworksDeleted: [String] }

    /// Removes the networks no container of the store is on (`label`, `until` filters); the
    /// default bridge stays, as docker's predefined networks do.
    func pruneNetworks(_ call: Call) throws {
        let filters = try Self.parseFilters(call.query["filters"])
        if let unknown = filters.keys.first(where: { !["label", "until"].contains($0) }) {
            throw APIError.badRequest("invalid filter '\(unknown)': skiff prunes networks by label and until")
        }
        let until = try filters["until"]?.last.map { try Self.untilSeconds($0) }
        let deleted = try engine.pruneNetworks { network in
            if let labels = filters["label"], !LabelFilter.all(labels, match: network.labels ?? [:]) { return true }
            if let until, (Timestamp.seconds(network.created) ?? 0) >= until { return true }
            return false
        }
        call.responder.sendJSON(NetworkPruneResponse(NetworksDeleted: deleted))
    }

    /// A prune filter's `until`: a Unix time, an RFC 3339 time, or a duration before now (10m, 1h30m).
    static func untilSeconds(_ text: String) throws(APIError) -> Double {
        do {
            let window = try LogTimeFilter(since: text, until: nil, now: Timestamp.nowSeconds())
            if let since = window.since { return since }
        } catch {}
        throw .badRequest("invalid filter 'until=\(text)': give a Unix time, an RFC 3339 time or a duration such as 24h")
    }

    struct NetworkConnectBody: Decodable {
        struct IPAMConfigBody: Decodable { var IPv4Address: String? }
        struct EndpointConfigBody: Decodable {
            var Aliases: [String]?
            var IPAMConfig: IPAMConfigBody?
        }
        var Container: String?
        var EndpointConfig: EndpointConfigBody?
        var Force: Bool?
    }

    func connectNetwork(_ call: Call, _ reference: String) throws {
        let network = try network(reference)
        let body = try APIJSON.decode(NetworkConnectBody.self, from: call.request.body)
        guard let container = body.Container, !container.isEmpty else { throw APIError.badRequest("Container is required") }
        let record = try self.container(container)
        let address = body.EndpointConfig?.IPAMConfig?.IPv4Address.flatMap { $0.isEmpty ? nil : $0 }
        // docker adds the container's short ID as an alias on user networks; skiff resolves names by the container's name already.
        try engine.connectNetwork(network.name, container: record.id, aliases: body.EndpointConfig?.Aliases ?? [], ipAddress: address)
        call.responder.send(status: .ok, body: [])
    }

    func disconnectNetwork(_ call: Call, _ reference: String) throws {
        let body = try APIJSON.decode(NetworkConnectBody.self, from: call.request.body)
        guard let container = body.Container, !container.isEmpty else { throw APIError.badRequest("Container is required") }
        let force = body.Force ?? false
        let name = force ? ((try? network(reference))?.name ?? reference) : try network(reference).name
        let record = try self.container(container)
        try engine.disconnectNetwork(name, container: record.id, force: force)
        call.responder.send(status: .ok, body: [])
    }
}

import Engine
import Testing

/// `--network container:NAME` and `--mac-address`: how they parse and what they are refused with,
/// before anything is made (docker's "conflicting options"). `-p` itself is refused the same way
/// as -P (the integration tests type it).
@Suite struct NetworkModeOptionTests {
    @Test func containerModeParses() {
        #expect(RunOptions.NetworkMode(parsing: "container:web") == .container("web"))
        #expect(RunOptions.NetworkMode(parsing: "container:web").name == "container:web")
        #expect(RunOptions.NetworkMode(parsing: "host") == .host)
        #expect(RunOptions.NetworkMode(parsing: "none") == .none)
        #expect(RunOptions.NetworkMode(parsing: "mynet") == .bridge("mynet"))
        #expect(RunOptions.NetworkMode(parsing: "container:web").userNetwork == nil)
    }

    func options(_ network: String, _ change: (inout RunOptions) -> Void = { _ in }) -> RunOptions {
        var options = RunOptions()
        options.network = RunOptions.NetworkMode(parsing: network)
        change(&options)
        return options
    }

    func refusal(_ options: RunOptions) -> String? {
        do {
            try Engine.checkNetworkModeConflicts(options)
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func containerModeRefusesOptionsOfItsOwnNetwork() throws {
        #expect(refusal(options("container:web")) == nil)
        let cases: [(String, (inout RunOptions) -> Void)] = [
            ("port publishing", { $0.publishAll = true }),
            ("port exposing", { $0.expose = ["80"] }),
            ("hostname", { $0.hostname = "box" }),
            ("dns", { $0.dns = ["192.0.2.1"] }),
            ("dns", { $0.dnsSearch = ["example.test"] }),
            ("custom host-to-IP mapping", { $0.addHosts = ["db:10.0.0.1"] }),
            ("links", { $0.links = ["db"] }),
            ("network-alias", { $0.networkAliases = ["x"] }),
            ("ip", { $0.ipAddress = "10.0.0.5" }),
            ("mac-address", { $0.macAddress = "02:42:ac:11:00:02" }),
        ]
        for (what, change) in cases {
            let message = refusal(options("container:web", change))
            #expect(message?.contains("conflicting options: \(what) and the") == true, "\(what): \(message ?? "accepted")")
        }
        #expect(refusal(options("container:")) != nil)
        #expect(refusal(options("container:web") { $0.sysctls = ["net.ipv4.ip_forward=1"] })?.contains("--sysctl net.ipv4") == true)
        #expect(refusal(options("container:web") { $0.sysctls = ["kernel.msgmax=8192"] }) == nil)
    }

    @Test func macAddressOnlyOnBridgeNetworks() {
        #expect(refusal(options("bridge") { $0.macAddress = "02:42:ac:11:00:02" }) == nil)
        #expect(refusal(options("mynet") { $0.macAddress = "02-42-ac-11-00-02" }) == nil)
        for network in ["none", "host", "container:web"] {
            let message = refusal(options(network) { $0.macAddress = "02:42:ac:11:00:02" })
            #expect(message?.contains("conflicting options: mac-address and the network mode") == true, "\(network): \(message ?? "")")
        }
        #expect(refusal(options("bridge") { $0.macAddress = "01:00:5e:00:00:01" })?.contains("multicast") == true)
        #expect(refusal(options("bridge") { $0.macAddress = "nonsense" })?.contains("--mac-address 'nonsense'") == true)
    }
}

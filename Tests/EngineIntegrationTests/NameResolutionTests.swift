import Foundation
import Testing

/// Containers on a user network reach each other by name, short ID and --network-alias, both
/// ways and whichever started first; a removed or stopped container stops resolving; the default
/// network `bridge` resolves no names (docker's behaviour). Every ping goes to a container on the
/// test's own network.
@Suite(.serialized, .enabled(if: networkTestsEnabled, networkSkipReason))
struct NameResolutionTests {
    func detached(_ fixture: EngineFixture, _ arguments: [String]) throws -> String {
        try fixture.skiff("run", ["-d"] + arguments + [fixture.image, "sleep", "60"], check: true).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `ping -c1 -W2 NAME` from inside a running container.
    func ping(_ fixture: EngineFixture, from container: String, _ name: String) throws -> CommandResult {
        try fixture.skiff("exec", [container, "busybox", "ping", "-c1", "-W2", name])
    }

    func hosts(_ fixture: EngineFixture, _ container: String) -> String {
        (try? fixture.skiff("exec", [container, "cat", "/etc/hosts"]).stdout) ?? ""
    }

    @Test func containersOnAUserNetworkResolveEachOtherBothWays() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let suffix = UUID().uuidString.prefix(6).lowercased()
        let network = "dns-\(suffix)"
        try fixture.network("create", [network], check: true)
        let (webName, clientName, alias) = ("web-\(suffix)", "client-\(suffix)", "www-\(suffix)")
        let web = try detached(
            fixture,
            [
                "--name", webName, "--network", network, "--network-alias", alias,
                "--add-host", "db:10.1.2.3",
            ])
        let client = try detached(fixture, ["--name", clientName, "--network", network])

        // The later container resolves the earlier one by name, short ID and alias...
        for name in [webName, String(web.prefix(12)), alias] {
            let result = try ping(fixture, from: client, name)
            #expect(result.status == 0, "ping \(name): \(result.stdout) \(result.stderr)\n\(hosts(fixture, client))")
        }
        // ...and is resolved by it; the user's --add-host line is kept.
        let result = try ping(fixture, from: web, clientName)
        #expect(result.status == 0, "ping \(clientName): \(result.stdout) \(result.stderr)\n\(hosts(fixture, web))")
        #expect(hosts(fixture, web).contains("10.1.2.3\tdb\n"))
        // A `run --rm` on the network resolves them too.
        let once = try fixture.skiff("run", ["--rm", "--network", network, fixture.image, "busybox", "ping", "-c1", "-W2", alias])
        #expect(once.status == 0, "\(once.stdout) \(once.stderr)")

        // inspect shows docker's Aliases.
        let inspected = try fixture.skiff("inspect", [web], check: true).stdout
        let document = try #require((try JSONSerialization.jsonObject(with: Data(inspected.utf8)) as? [[String: Any]])?.first)
        let endpoint = ((document["NetworkSettings"] as? [String: Any])?["Networks"] as? [String: Any])?[network] as? [String: Any]
        #expect(endpoint?["Aliases"] as? [String] == [alias, String(web.prefix(12))], "\(inspected)")

        // Removed: no longer resolved.
        try fixture.skiff("rm", ["-f", web], check: true)
        let gone = try ping(fixture, from: client, webName)
        #expect(gone.status != 0 && gone.stderr.contains("bad address"), "\(gone.stdout) \(gone.stderr)")
        #expect(!(hosts(fixture, client)).contains(alias))

        // Stopped: no longer resolved; started again: resolved again.
        let other = try detached(fixture, ["--name", "other-\(suffix)", "--network", network])
        #expect(try ping(fixture, from: client, "other-\(suffix)").status == 0)
        try fixture.skiff("stop", ["-t", "0", other], check: true)
        #expect(eventually(10) { !(hosts(fixture, client)).contains("other-\(suffix)") }, "\(hosts(fixture, client))")
        try fixture.skiff("start", [other], check: true)
        #expect(try ping(fixture, from: client, "other-\(suffix)").status == 0, "\(hosts(fixture, client))")
        // Renamed: the new name resolves, the old one no longer.
        try fixture.skiff("rename", [other, "renamed-\(suffix)"], check: true)
        #expect(try ping(fixture, from: client, "renamed-\(suffix)").status == 0, "\(hosts(fixture, client))")
        #expect(try ping(fixture, from: client, "other-\(suffix)").status != 0)
    }

    /// Parallel starts and removals take the network's peer lock in turn: no entry is lost or left.
    @Test func parallelStartsAndRemovalsLoseNoEntry() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let suffix = UUID().uuidString.prefix(6).lowercased()
        let network = "dnsp-\(suffix)"
        try fixture.network("create", [network], check: true)
        let count = 12
        let started = inParallel(count) { index -> (String, CommandResult?) in
            let name = "p\(index)-\(suffix)"
            return (name, try? fixture.skiff("run", ["-d", "--name", name, "--network", network, fixture.image, "sleep", "600"]))
        }
        var ids: [String: String] = [:]
        var failures: [String] = []
        for (name, result) in started {
            if let result, result.status == 0 {
                ids[name] = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            } else {
                failures.append(result?.stderr ?? "did not run")
            }
        }
        #expect(failures.isEmpty, "\(failures.prefix(3))")
        // Each container's /etc/hosts (read on the host side) names every other one.
        func hostsFile(_ id: String) -> String {
            (try? String(contentsOfFile: fixture.root + "/containers/\(id)/hosts", encoding: .utf8)) ?? ""
        }
        for (name, id) in ids {
            let text = hostsFile(id)
            let missing = ids.keys.filter { other in other != name && !text.contains("\t\(other) ") }
            #expect(missing.isEmpty, "\(name) lacks \(missing):\n\(text)")
        }
        // Remove half in parallel: the rest name exactly the other half.
        let names = ids.keys.sorted()
        let (gone, kept) = (Array(names.prefix(count / 2)), Array(names.suffix(count - count / 2)))
        _ = inParallel(gone.count) { index in (try? fixture.skiff("rm", ["-f", gone[index]]))?.status ?? -1 }
        for name in kept {
            let text = hostsFile(ids[name] ?? "")
            #expect(gone.allSatisfy { !text.contains("\t\($0) ") }, "\(name):\n\(text)")
            #expect(kept.allSatisfy { $0 == name || text.contains("\t\($0) ") }, "\(name):\n\(text)")
        }
        #expect(
            Set(
                ((try? FileManager.default.contentsOfDirectory(atPath: fixture.root + "/networks/peers/\(network)")) ?? [])
                    .filter { $0.hasSuffix(".json") }) == Set(kept.compactMap { ids[$0].map { $0 + ".json" } }))
    }

    @Test func theDefaultBridgeResolvesNoNames() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let suffix = UUID().uuidString.prefix(6).lowercased()
        _ = try detached(fixture, ["--name", "plain-\(suffix)"])
        let result = try fixture.skiff("run", ["--rm", fixture.image, "busybox", "ping", "-c1", "-W2", "plain-\(suffix)"])
        #expect(result.status != 0 && result.stderr.contains("bad address"), "\(result.stdout) \(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: fixture.root + "/networks/peers/bridge"))
        // docker's rule: no aliases on the default network.
        let alias = try fixture.skiff("run", ["--rm", "--network-alias", "x", fixture.image, "true"])
        #expect(alias.status == 125 && alias.stderr.contains("user network"), "\(alias.stderr)")
        let bad = try fixture.skiff("run", ["--rm", "--network", "none", "--network-alias", "a b", fixture.image, "true"])
        #expect(bad.status == 125 && bad.stderr.contains("--network-alias"), "\(bad.stderr)")
    }
}

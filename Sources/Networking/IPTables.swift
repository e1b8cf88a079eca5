#if canImport(Glibc)
import Glibc
#endif
import LinuxSupport

/// The few iptables rules skiff owns itself (one masquerade rule per network), through the
/// iptables command so the host's backend (nft or legacy) is used as the CNI plugins use it.
public struct IPTables: Sendable {
    public var path: String

    public init(path: String = "/usr/sbin/iptables") { self.path = path }

    /// iptables' exit status for a resource problem: the xtables lock not taken in time (legacy
    /// backend) or a ruleset that changed under a transaction (nft backend). Both pass.
    static let resourceProblem: Int32 = 4

    /// Runs iptables, waiting for the xtables lock and retrying resource problems for a while:
    /// a hundred containers starting at once keep the CNI plugins' iptables calls busy, and a
    /// first `run` on a new network must not fail with 125 because of that.
    @discardableResult
    func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        guard FileIO.exists(path) else { throw NetworkError.firewall("\(path) is missing: install iptables (scripts/install-deps.sh)") }
        var attempt = 0
        while true {
            let result = try Subprocess.run(
                path: path, args: ["iptables", "-w", "30"] + arguments,
                env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], captureOutput: true, captureStderr: true, timeout: 60)
            attempt += 1
            if result.status == Self.resourceProblem && attempt < 5 {
                usleep(UInt32(50_000 * attempt))
                continue
            }
            return (result.status, String(decoding: result.output, as: UTF8.self))
        }
    }

    /// Appends the rule unless it is there.
    public func ensure(table: String, chain: String, rule: [String]) throws {
        if try run(["-t", table, "-C", chain] + rule).status == 0 { return }
        let added = try run(["-t", table, "-A", chain] + rule)
        guard added.status == 0 else { throw NetworkError.firewall("cannot add a rule to \(table)/\(chain): \(added.output)") }
    }

    /// Inserts the rule first in the chain unless it is there: a drop that must come before the
    /// accepts others append (the CNI firewall plugin's, docker's).
    public func ensureFirst(table: String, chain: String, rule: [String]) throws {
        if try run(["-t", table, "-C", chain] + rule).status == 0 { return }
        let added = try run(["-t", table, "-I", chain, "1"] + rule)
        guard added.status == 0 else { throw NetworkError.firewall("cannot insert a rule into \(table)/\(chain): \(added.output)") }
    }

    /// Deletes every copy of the rule.
    public func remove(table: String, chain: String, rule: [String]) throws {
        for _ in 0..<16 {
            if try run(["-t", table, "-D", chain] + rule).status != 0 { break }
        }
    }

    /// Whether forwarded packets are dropped unless a rule accepts them (docker sets that policy):
    /// then the CNI firewall plugin must open the container's address.
    public func forwardPolicyDrops() throws -> Bool {
        let listed = try run(["-S", "FORWARD"])
        guard listed.status == 0 else { throw NetworkError.firewall("cannot list the FORWARD chain: \(listed.output)") }
        return listed.output.split(separator: "\n").contains { $0.hasPrefix("-P FORWARD DROP") || $0.hasPrefix("-P FORWARD REJECT") }
    }
}

import JSON
import LinuxSupport

/// Runs CNI plugins as the CNI spec says: the plugin executable from CNI_PATH, the command and
/// the container in environment variables, the network configuration on stdin, the result (or a
/// `{"code","msg"}` error) on stdout. Chains run as libcni runs them: ADD in order, each plugin
/// given the previous one's result; DEL in reverse order, each given the cached final result.
public struct CNIRunner: Sendable {
    public struct Target: Sendable {
        public var containerID: String
        public var netns: String
        public var ifname: String
        /// CNI_ARGS (`IgnoreUnknown=1;IP=ADDR` asks host-local for that address), nil for none.
        public var args: String?

        public init(containerID: String, netns: String, ifname: String = "eth0", args: String? = nil) {
            self.containerID = containerID
            self.netns = netns
            self.ifname = ifname
            self.args = args
        }
    }

    /// Where the plugins are (Debian's containernetworking-plugins).
    public var pluginDirectory: String

    public init(pluginDirectory: String = "/usr/lib/cni") { self.pluginDirectory = pluginDirectory }

    /// Runs one plugin; returns its stdout.
    public func invoke(command: String, plugin: JSONValue, networkName: String, prevResult: JSONValue?, target: Target) throws -> [UInt8] {
        let type = CNIConfig.type(of: plugin)
        let path = pluginDirectory + "/" + type
        guard !type.isEmpty, !type.contains("/"), FileIO.exists(path) else { throw NetworkError.pluginMissing(path: path) }
        var env = [
            "CNI_COMMAND=" + command, "CNI_CONTAINERID=" + target.containerID, "CNI_NETNS=" + target.netns,
            "CNI_IFNAME=" + target.ifname, "CNI_PATH=" + pluginDirectory, "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
        ]
        if let args = target.args { env.append("CNI_ARGS=" + args) }
        let result = try Subprocess.run(
            path: path, args: [type], env: env,
            stdin: CNIConfig.invocation(plugin: plugin, networkName: networkName, prevResult: prevResult),
            captureOutput: true, timeout: 120)
        guard result.status == 0, !result.timedOut else {
            let message =
                CNIResult.errorMessage(result.output)
                ?? (result.timedOut
                    ? "no answer in 120 s" : "exit status \(result.status): \(String(decoding: result.output, as: UTF8.self))")
            throw NetworkError.pluginFailed(plugin: type, command: command, message: message)
        }
        return result.output
    }

    /// ADD through the chain; returns the final result.
    public func add(plugins: [JSONValue], networkName: String, target: Target) throws -> JSONValue {
        var previous: JSONValue?
        for plugin in plugins {
            let output = try invoke(command: "ADD", plugin: plugin, networkName: networkName, prevResult: previous, target: target)
            do { previous = try JSONValue.parse(output) } catch {
                throw NetworkError.badPluginResult(plugin: CNIConfig.type(of: plugin), reason: "\(error)")
            }
        }
        guard let previous else { throw NetworkError.badPluginResult(plugin: "(none)", reason: "the chain is empty") }
        return previous
    }

    /// DEL through the chain in reverse. Every plugin is asked even after one fails (so a
    /// failure of one leaks nothing of the others); the first failure is thrown at the end.
    public func delete(plugins: [JSONValue], networkName: String, result: JSONValue?, target: Target) throws {
        var firstError: (any Error)?
        for plugin in plugins.reversed() {
            do { _ = try invoke(command: "DEL", plugin: plugin, networkName: networkName, prevResult: result, target: target) } catch {
                firstError = firstError ?? error
            }
        }
        if let firstError { throw firstError }
    }

    /// CHECK through the chain: throws what a plugin finds wrong with the container's network.
    public func check(plugins: [JSONValue], networkName: String, result: JSONValue, target: Target) throws {
        for plugin in plugins {
            _ = try invoke(command: "CHECK", plugin: plugin, networkName: networkName, prevResult: result, target: target)
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Engine
import Foundation
import OCISpec

/// `skiff system service`: the Docker Engine API over the same store as the CLI (podman's
/// spelling). The server is the separate `skiff-api` executable beside `skiff`, which this
/// command becomes (execve): SwiftNIO in `skiff` itself would slow every other command's start.
struct SystemServiceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "service",
        abstract: "Serve the Docker Engine API (docker CLI, docker-py) over a socket.",
        discussion: """
            With DOCKER_HOST=unix:///run/skiff/skiff.sock the docker CLI and docker-py drive this store's containers and \
            images. A tcp:// address binds loopback only (127.0.0.1 or [::1]): there is no TLS, and the API is root on \
            this host to whoever reaches it. Containers keep their own monitors: stopping the service stops no container. \
            The server is the skiff-api executable installed beside skiff.
            """)

    @OptionGroup var engineOptions: EngineOptions
    @Option(
        name: [.customShort("H"), .customLong("host")],
        help: "Where to listen: unix:///PATH (socket mode 0660) or tcp://127.0.0.1:PORT (loopback only).")
    var host: String = "unix:///run/skiff/skiff.sock"
    @Option(
        name: [.customShort("t"), .customLong("time")],
        help: "Seconds without a connection before the service exits; 0 serves until stopped.")
    var time: Double = 5
    @Option(name: .customLong("default-registry"), help: "Registry for image names without one.")
    var defaultRegistry: String = ProcessInfo.processInfo.environment["SKIFF_DEFAULT_REGISTRY"] ?? ImageReference.dockerHub
    @Option(
        name: .customLong("insecure"), parsing: .singleValue,
        help: "Registry (host[:port]) that pulls may reach over plain HTTP; repeatable. Loopback registries always may.")
    var insecure: [String] = []
    @Option(help: "Credentials file in docker's config.json format (default ~/.config/skiff/auth.json, then ~/.docker/config.json).")
    var authfile: String?
    @Option(name: .customLong("cert-dir"), help: "Certificates for registries (*.crt CAs, NAME.cert + NAME.key), like podman's --cert-dir.")
    var certDir: String?

    func validate() throws {
        guard time.isFinite, time >= 0 else {
            throw ValidationError("--time must be 0 (serve until stopped) or a number of seconds, not \(time)")
        }
        if host.hasPrefix("tcp://") {
            var address = String(host.dropFirst(6))
            if let colon = address.lastIndex(of: ":") { address = String(address[..<colon]) }
            guard ["127.0.0.1", "localhost", "[::1]"].contains(address) else {
                throw ValidationError(
                    "--host \(host): TCP listens on loopback only (127.0.0.1 or [::1]): without TLS the API would hand root on this host to the network"
                )
            }
        } else if !host.hasPrefix("unix:///") {
            throw ValidationError("--host \(host): use unix:///PATH or tcp://127.0.0.1:PORT")
        }
    }

    func run() throws {
        let skiff = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let server = String(skiff[..<(skiff.lastIndex(of: "/") ?? skiff.startIndex)]) + "/skiff-api"
        guard access(server, X_OK) == 0 else {
            printEngineError(
                "\(server) is missing: skiff system service runs the skiff-api executable built and installed beside skiff (swift build --product skiff-api)"
            )
            throw ExitCode(125)
        }
        var arguments = [
            server, "--skiff", skiff, "--root", engineOptions.absoluteRoot, "--runtime-root", engineOptions.runtimeRoot,
            "--host", host, "--time", String(time), "--default-registry", defaultRegistry,
            "--engine-version", SystemInfoCommand.engineVersion,
        ]
        for registry in insecure { arguments += ["--insecure", registry] }
        if let authfile { arguments += ["--authfile", authfile] }
        if let certDir { arguments += ["--cert-dir", certDir] }
        let argv = arguments.map { strdup($0) } + [nil]
        execv(server, argv)
        printEngineError("cannot run \(server): \(String(cString: strerror(errno)))")
        throw ExitCode(125)
    }
}

#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import DockerAPI
import Engine
import Foundation
import OCISpec

/// `skiff system service`: the Docker Engine API over the same store as the CLI (podman's
/// spelling). The only command that reaches the DockerAPI target, so no other command pays for it.
struct SystemServiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "service",
        abstract: "Serve the Docker Engine API (docker CLI, docker-py) over a socket.",
        discussion: """
            With DOCKER_HOST=unix:///run/skiff/skiff.sock the docker CLI and docker-py drive this store's containers and \
            images. A tcp:// address binds loopback only (127.0.0.1 or [::1]): there is no TLS, and the API is root on \
            this host to whoever reaches it. Containers keep their own monitors: stopping the service stops no container.
            """)

    @OptionGroup var engineOptions: EngineOptions
    @Option(name: [.customShort("H"), .customLong("host")],
            help: "Where to listen: unix:///PATH (socket mode 0660) or tcp://127.0.0.1:PORT (loopback only).")
    var host: String = "unix://" + ServiceAddress.defaultSocket
    @Option(name: [.customShort("t"), .customLong("time")], help: "Seconds without a connection before the service exits; 0 serves until stopped.")
    var time: Double = 5
    @Option(name: .customLong("default-registry"), help: "Registry for image names without one.")
    var defaultRegistry: String = ProcessInfo.processInfo.environment["SKIFF_DEFAULT_REGISTRY"] ?? ImageReference.dockerHub
    @OptionGroup var registry: RegistryCommandOptions

    func validate() throws {
        guard time.isFinite, time >= 0 else { throw ValidationError("--time must be 0 (serve until stopped) or a number of seconds, not \(time)") }
    }

    func run() async throws {
        try await withEngineErrors {
            let address: ServiceAddress
            do {
                address = try ServiceAddress(parsing: host)
            } catch {
                throw ValidationError("\(error)")
            }
            let engine = try engineOptions.openEngine()
            let service = DockerService(engine: engine, engineVersion: SystemInfoCommand.engineVersion, defaultRegistry: defaultRegistry,
                                        registryOptions: registry.registryOptions())
            signal(SIGPIPE, SIG_IGN)
            printWarning("serving the Docker Engine API \(APIVersion.current) on \(address)" + (time > 0 ? " until \(time)s idle" : ""))
            try APIServer(service: service).serve(at: address, idleSeconds: time)
        }
    }
}

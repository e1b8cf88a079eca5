import ArgumentParser
import Foundation
import ImageStore
import OCISpec
import Registry

/// Options every image command shares: where the store is and how names are completed.
struct StoreOptions: ParsableArguments {
    @Option(help: "Root directory of the image store.")
    var root: String = ProcessInfo.processInfo.environment["SKIFF_ROOT"] ?? ImageStore.defaultRoot

    @Option(name: .customLong("default-registry"), help: "Registry for names without one (default docker.io, or $SKIFF_DEFAULT_REGISTRY).")
    var defaultRegistry: String = ProcessInfo.processInfo.environment["SKIFF_DEFAULT_REGISTRY"] ?? ImageReference.dockerHub

    func openStore() throws -> ImageStore {
        try ImageStore(root: root.hasPrefix("/") ? root : FileManager.default.currentDirectoryPath + "/" + root)
    }

    func reference(_ text: String) throws -> ImageReference {
        try ImageReference(parsing: text, defaultRegistry: defaultRegistry)
    }
}

/// Options for commands that talk to registries.
struct RegistryCommandOptions: ParsableArguments {
    @Option(name: .customLong("insecure"), parsing: .singleValue,
            help: "Registry (host[:port]) that may be reached over plain HTTP; repeatable. Loopback registries always may.")
    var insecure: [String] = []

    @Option(help: "Seconds without progress before a registry request fails.")
    var timeout: Double = 30

    @Option(help: "Parallel layer transfers.")
    var parallel: Int = 4

    @Option(help: "Credentials file in docker's config.json format (default ~/.config/skiff/auth.json, then ~/.docker/config.json).")
    var authfile: String?

    @Option(name: .customLong("cert-dir"),
            help: "Certificates for the registry (*.crt CAs, NAME.cert + NAME.key client certificate), like podman's --cert-dir; a loopback registry is then reached over HTTPS. /etc/skiff/certs.d/HOST:PORT and /etc/docker/certs.d/HOST:PORT are always used.")
    var certDir: String?

    func registryOptions() -> RegistryOptions {
        var options = RegistryOptions()
        options.insecureRegistries = Set(insecure)
        options.timeout = timeout
        options.parallelTransfers = max(1, parallel)
        if let authfile { options.credentials = CredentialStore(skiffFile: authfile) }
        if let certDir { options.trust.directories = [certDir] }
        return options
    }
}

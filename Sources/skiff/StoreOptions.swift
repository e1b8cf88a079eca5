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

    var absoluteRoot: String { root.hasPrefix("/") ? root : FileManager.default.currentDirectoryPath + "/" + root }

    func openStore() throws -> ImageStore { try ImageStore(root: absoluteRoot) }

    func reference(_ text: String) throws -> ImageReference {
        try ImageReference(parsing: text, defaultRegistry: defaultRegistry)
    }
}

/// Options for commands that talk to registries.
struct RegistryCommandOptions: ParsableArguments {
    @Option(
        name: .customLong("insecure"), parsing: .singleValue,
        help: "Registry (host[:port]) that may be reached over plain HTTP; repeatable. Loopback registries always may.")
    var insecure: [String] = []

    @Option(help: "Seconds without progress before a registry request fails (each of 3 tries).")
    var timeout: Double = 30

    @Option(
        name: .customLong("low-speed-limit"),
        help: ArgumentHelp(
            "Bytes per second a transfer must average over --low-speed-time, or it fails; 0 turns the check off.", valueName: "bytes"))
    var lowSpeedLimit: Int = RegistryOptions().lowSpeedLimit

    @Option(
        name: .customLong("low-speed-time"),
        help: ArgumentHelp(
            "Seconds over which --low-speed-limit is measured; 0 turns the check off.", valueName: "seconds"))
    var lowSpeedTime: Double = RegistryOptions().lowSpeedTime

    @Option(
        name: .customLong("request-deadline"),
        help: ArgumentHelp(
            "Seconds a manifest, token or other small registry request may take in all; 0 turns it off.", valueName: "seconds"))
    var requestDeadline: Double = RegistryOptions().requestDeadline

    @Option(help: "Parallel layer transfers.")
    var parallel: Int = 4

    @Option(help: "Credentials file in docker's config.json format (default ~/.config/skiff/auth.json, then ~/.docker/config.json).")
    var authfile: String?

    @Option(
        name: .customLong("cert-dir"),
        help:
            "Certificates for the registry (*.crt CAs, NAME.cert + NAME.key client certificate), like podman's --cert-dir; a loopback registry is then reached over HTTPS. /etc/skiff/certs.d/HOST:PORT and /etc/docker/certs.d/HOST:PORT are always used."
    )
    var certDir: String?

    /// Time options must be finite and within a day or so (a negative or huge number is a typo,
    /// and would overflow the socket's timeval); counts must not be negative.
    func validate() throws {
        guard timeout.isFinite, timeout > 0, timeout <= 86400 else {
            throw ValidationError("--timeout must be a number of seconds above 0 and at most 86400, not \(timeout)")
        }
        guard lowSpeedTime.isFinite, lowSpeedTime >= 0, lowSpeedTime <= 86400 else {
            throw ValidationError("--low-speed-time must be a number of seconds from 0 (off) to 86400, not \(lowSpeedTime)")
        }
        guard requestDeadline.isFinite, requestDeadline >= 0, requestDeadline <= 86400 else {
            throw ValidationError("--request-deadline must be a number of seconds from 0 (off) to 86400, not \(requestDeadline)")
        }
        guard lowSpeedLimit >= 0 else {
            throw ValidationError("--low-speed-limit must be a number of bytes per second, 0 (off) or more, not \(lowSpeedLimit)")
        }
    }

    func registryOptions() -> RegistryOptions {
        var options = RegistryOptions()
        options.insecureRegistries = Set(insecure)
        options.timeout = timeout
        options.lowSpeedLimit = lowSpeedLimit
        options.lowSpeedTime = lowSpeedTime
        options.requestDeadline = requestDeadline
        options.parallelTransfers = max(1, parallel)
        if let authfile { options.credentials = CredentialStore(skiffFile: authfile) }
        if let certDir { options.trust.directories = [certDir] }
        return options
    }
}

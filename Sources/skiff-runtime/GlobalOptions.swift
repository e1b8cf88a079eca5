#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import ContainerRuntime

/// runc's global flags, accepted before or after the command name.
struct GlobalOptions: ParsableArguments {
    @Option(help: "Root directory for container state.")
    var root: String = "/run/skiff-runtime"

    @Option(help: "Write errors and warnings to this file as well as stderr.")
    var log: String?

    @Option(name: .customLong("log-format"), help: "Log format: text or json.")
    var logFormat: LogFormat = .text

    @Flag(help: "Enable debug logging.")
    var debug = false

    @Flag(name: .customLong("systemd-cgroup"), help: "Use systemd for cgroups (not supported: skiff-runtime uses cgroupfs).")
    var systemdCgroup = false

    @Option(help: "Path to criu (accepted for runc compatibility; checkpointing is not supported).")
    var criu: String?

    var runtime: Runtime { Runtime(root: root, systemdCgroup: systemdCgroup) }

    func installLog() {
        let logger = RuntimeLogger(path: log, format: logFormat)
        RuntimeLogger.current = logger
        RuntimeWarnings.handler = { logger.warning($0) }
    }
}

enum LogFormat: String, ExpressibleByArgument, Sendable {
    case text, json
}

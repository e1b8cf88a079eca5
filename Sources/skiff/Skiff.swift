import ArgumentParser

/// The `skiff` command: the engine's docker-like front end. Each concern registers its
/// subcommands here (images, containers, vm); the commands themselves live in their own files.
struct Skiff: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "skiff",
        abstract: "Run containers and micro-VMs from OCI images.",
        usage: "skiff [GLOBAL OPTIONS] <subcommand>",
        discussion: """
            GLOBAL OPTIONS (before the command, as docker and podman take them; the same option after the command wins):
              --root DIR               the store ($SKIFF_ROOT; default /var/lib/skiff)
              --runtime-root DIR       the OCI runtime's state ($SKIFF_RUNTIME_ROOT; default /run/skiff/runtime)
              --default-registry HOST  the registry of names without one ($SKIFF_DEFAULT_REGISTRY; default docker.io)
              -l, --log-level LEVEL    debug, info, warn (default), error or fatal ($SKIFF_LOG_LEVEL)
              -D, --debug              the same as --log-level debug
              -v, --version            print skiff's version and exit
            """,
        subcommands: Skiff.allSubcommands
    )

    /// Every top-level subcommand, in the order `skiff --help` lists them.
    static var allSubcommands: [any ParsableCommand.Type] {
        containerCommands + imageCommands + vmCommands + [GenerateDocsCommand.self]
    }
}

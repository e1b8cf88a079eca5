import ContainerRuntime

/// `create`: set up a container and leave it waiting for `start`.
enum CreateCommand {
    static let flags: [FlagSpec] = [
        .value("--bundle", "-b", placeholder: "DIR", help: "Path to the bundle directory (default: the current directory)."),
        .value("--console-socket", placeholder: "PATH", help: "Unix socket that receives the pty master when process.terminal is set."),
        .value("--pid-file", placeholder: "FILE", help: "File to write the container's pid to."),
        .bool("--no-pivot", help: "Use chroot instead of pivot_root (for ramdisk roots)."),
        .bool("--no-new-keyring", help: "Keep the caller's session keyring instead of making a new one."),
        .value("--preserve-fds", placeholder: "N", help: "Pass N extra descriptors (3 to 3+N-1) to the container."),
    ]

    static let spec = CommandSpec(
        name: "create", summary: "Create a container, ready to start.", usage: "<container-id>", flags: flags
    ) { context in
        try context.runtime.create(
            id: try context.arguments.containerID(), bundle: context.arguments.string("bundle") ?? ".",
            options: try options(context.arguments))
        return 0
    }

    /// The create options shared with `run`.
    static func options(_ a: ParsedArguments) throws -> Runtime.CreateOptions {
        var options = Runtime.CreateOptions()
        options.pidFile = a.string("pid-file")
        options.consoleSocket = a.string("console-socket")
        options.noPivot = a.flag("no-pivot")
        options.noNewKeyring = a.flag("no-new-keyring")
        options.preserveFDs = try a.int("preserve-fds") ?? 0
        return options
    }
}

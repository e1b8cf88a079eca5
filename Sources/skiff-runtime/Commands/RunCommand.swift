import ContainerRuntime

/// `run`: create and start; in the foreground, wait, delete, and exit with the container's code.
enum RunCommand {
    static let spec = CommandSpec(
        name: "run", summary: "Create and start a container; in the foreground, wait for it and delete it.",
        usage: "<container-id>",
        flags: CreateCommand.flags + [
            .bool("--detach", "-d", help: "Return once the container has started."),
            .bool("--keep", help: "Do not delete the container after it exits."),
        ]
    ) { context in
        let a = context.arguments
        let runtime = context.runtime
        let id = try a.containerID()
        let bundle = a.string("bundle") ?? "."
        let detach = a.flag("detach")
        var options = try CreateCommand.options(a)
        var terminal: TerminalProxy?
        if options.consoleSocket == nil, !detach, (try? BundleLoader.load(bundle: bundle))?.spec.process?.terminal == true {
            terminal = try TerminalProxy()
            options.consoleSocketFD = terminal?.runtimeEnd
        }
        let record = try runtime.create(id: id, bundle: bundle, options: options)
        terminal?.closeRuntimeEnd()
        // Caught before the program runs: its output may reach the user, and a Ctrl-C, before the wait.
        let signals = detach || terminal != nil ? nil : ForegroundWait.watchSignals()
        defer { signals?.close() }
        do {
            try runtime.start(id: id)
        } catch {
            try? runtime.delete(id: id, force: true)
            throw error
        }
        if detach { return 0 }
        let code = try terminal?.run(pid: record.pid) ?? ForegroundWait.wait(pid: record.pid, signals: signals)
        if !a.flag("keep") { try? runtime.delete(id: id, force: true) }
        return code
    }
}

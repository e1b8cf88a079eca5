import ContainerRuntime
import LinuxSupport
import OCISpec

/// `exec`: run another process inside a running container.
enum ExecCommand {
    static let spec = CommandSpec(
        name: "exec", summary: "Run a new process inside a running container.", usage: "<container-id> <command> [args...]",
        flags: [
            .value("--process", "-p", placeholder: "FILE", help: "JSON file with the process to run (the spec's process object)."),
            .bool("--tty", "-t", help: "Allocate a pseudo-terminal."),
            .bool("--detach", "-d", help: "Return once the process has started."),
            .value("--pid-file", placeholder: "FILE", help: "File to write the process pid to."),
            .value("--console-socket", placeholder: "PATH", help: "Unix socket that receives the pty master."),
            .value("--cwd", placeholder: "DIR", help: "Working directory in the container."),
            .value("--env", "-e", placeholder: "KEY=VALUE", help: "Set an environment variable (repeatable)."),
            .value("--user", "-u", placeholder: "UID[:GID]", help: "User to run as."),
            .value("--additional-gids", "-g", placeholder: "GID", help: "Extra group id (repeatable)."),
            .value("--cap", "-c", placeholder: "CAP", help: "Add a capability (repeatable)."),
            .bool("--no-new-privs", help: "Set no_new_privs for the process."),
            .value("--preserve-fds", placeholder: "N", help: "Pass N extra descriptors to the process."),
            .value("--process-label", placeholder: "LABEL", help: "SELinux label (accepted, not supported)."),
            .value("--apparmor", placeholder: "PROFILE", help: "AppArmor profile (accepted, not supported)."),
            .bool("--ignore-paused", help: "Accepted for runc compatibility."),
        ],
        passthroughAfterFirstArgument: true
    ) { context in
        let a = context.arguments
        let runtime = context.runtime
        let id = try a.argument(0, "container id")
        let process: Process
        if let file = a.string("process") {
            do {
                process = try RuntimeJSON.decode(Process.self, from: try FileIO.read(file))
            } catch {
                throw RuntimeError.invalidConfig("--process \(file): \(error)")
            }
        } else {
            let args = Array(a.positionals.dropFirst())
            guard !args.isEmpty else { throw UsageError("give a command to run, or --process FILE", command: "exec") }
            let gids = try a.strings("additional-gids").map { text -> UInt32 in
                guard let gid = UInt32(text) else { throw UsageError("--additional-gids wants a number, not '\(text)'", command: "exec") }
                return gid
            }
            process = try runtime.execProcess(
                id: id, args: args, tty: a.flag("tty"), cwd: a.string("cwd"), env: a.strings("env"),
                user: a.string("user"), additionalGids: gids, capabilities: a.strings("cap"),
                noNewPrivileges: a.flag("no-new-privs"))
        }
        var options = Runtime.ExecOptions()
        options.pidFile = a.string("pid-file")
        options.consoleSocket = a.string("console-socket")
        options.preserveFDs = try a.int("preserve-fds") ?? 0
        let detach = a.flag("detach")
        var terminal: TerminalProxy?
        if process.terminal == true && options.consoleSocket == nil && !detach {
            terminal = try TerminalProxy()
            options.consoleSocketFD = terminal?.runtimeEnd
        }
        // Caught before the process starts: its output may reach the user, and a Ctrl-C, before the wait.
        let signals = detach || terminal != nil ? nil : ForegroundWait.watchSignals()
        defer { signals?.close() }
        let pid = try runtime.exec(id: id, process: process, options: options)
        terminal?.closeRuntimeEnd()
        if detach { return 0 }
        return try terminal?.run(pid: pid) ?? ForegroundWait.wait(pid: pid, signals: signals)
    }
}

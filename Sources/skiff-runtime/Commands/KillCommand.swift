import ContainerRuntime
import LinuxSupport

/// `kill`: send a signal to the container's init, or with --all to every process in it.
enum KillCommand {
    static let spec = CommandSpec(
        name: "kill", summary: "Send a signal (default SIGTERM) to a container.", usage: "<container-id> [signal]",
        flags: [.bool("--all", "-a", help: "Signal every process in the container.")]
    ) { context in
        let a = context.arguments
        let id = try a.argument(0, "container id")
        let name = a.positionals.count > 1 ? a.positionals[1] : "SIGTERM"
        let signal: Int32
        do { signal = try SignalTable.number(name) } catch { throw RuntimeError.invalidConfig("\(error)") }
        try context.runtime.kill(id: id, signal: signal, all: a.flag("all"))
        return 0
    }
}

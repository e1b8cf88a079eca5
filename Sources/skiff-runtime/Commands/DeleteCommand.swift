import ContainerRuntime

/// `delete`: remove a stopped (or, with --force, any) container and everything it holds.
enum DeleteCommand {
    static let spec = CommandSpec(
        name: "delete", summary: "Delete a container and everything it holds.", usage: "<container-id>",
        flags: [.bool("--force", "-f", help: "Kill the container first if it is still running.")]
    ) { context in
        let force = context.arguments.flag("force")
        do {
            try context.runtime.delete(id: try context.arguments.containerID(), force: force)
        } catch RuntimeError.containerNotFound where force {
            return 0
        }
        return 0
    }
}

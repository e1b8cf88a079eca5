import ContainerRuntime

/// `resume`: thaw a paused container.
enum ResumeCommand {
    static let spec = CommandSpec(name: "resume", summary: "Thaw a paused container.", usage: "<container-id>") { context in
        try context.runtime.resume(id: try context.arguments.containerID())
        return 0
    }
}

import ArgumentParser

extension Skiff {
    /// Micro-VM commands (`skiff vm ...`).
    static var vmCommands: [any ParsableCommand.Type] { [VMGroup.self] }
}

/// `skiff vm`: the micro-VM monitor's commands.
struct VMGroup: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vm",
        abstract: "Run micro-VMs on /dev/kvm.",
        subcommands: [VMRun.self, VMInitramfs.self, VMKernel.self]
    )
}

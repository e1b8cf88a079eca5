import ArgumentParser

extension Skiff {
    /// Micro-VM commands (`skiff vm ...`): filled in by the VMM work.
    static var vmCommands: [any ParsableCommand.Type] { [] }
}

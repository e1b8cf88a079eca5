/// The checks and record fields of -i, -t, --restart and --init, kept apart from `create`.
extension RunOptions {
    /// Refuses the combinations docker refuses.
    public func validateInteractiveOptions() throws {
        if autoRemove && restart != .no {
            throw EngineError.invalidOption(
                "conflicting options: --restart \(restart) and --rm: a container removed at exit cannot be restarted; drop one")
        }
    }
}

extension EngineContainer {
    mutating func applyInteractiveOptions(_ options: RunOptions) {
        tty = options.tty
        interactive = options.interactive
        restartPolicy = options.restart
        restartCount = 0
    }

    /// The record's -t, -i and policy with the defaults of records written before them.
    public var hasTTY: Bool { tty ?? false }
    public var isInteractive: Bool { interactive ?? false }
    public var policy: RestartPolicy { restartPolicy ?? .no }
}

#if canImport(Glibc)
import Glibc
#endif
import ContainerRuntime

/// The command table and the top-level error handling of `skiff-runtime`.
enum SkiffRuntimeCLI {
    static let version = "skiff-runtime version 0.1.0\nspec: \(OCIVersions.max)"

    static let commands: [CommandSpec] = [
        CreateCommand.spec, StartCommand.spec, RunCommand.spec, StateCommand.spec, KillCommand.spec,
        DeleteCommand.spec, ListCommand.spec, PsCommand.spec, ExecCommand.spec, PauseCommand.spec,
        ResumeCommand.spec, UpdateCommand.spec, SpecCommand.spec, FeaturesCommand.spec,
    ]

    /// Parses and runs; returns the process exit code. Every failure is logged and exits non-zero.
    static func run(_ args: [String]) -> Int32 {
        let outcome: CommandLineParser.Outcome
        do {
            outcome = try CommandLineParser.parse(args, commands: commands)
        } catch {
            RuntimeLogger(path: nil, format: .text).error("\(error)")
            return 1
        }
        switch outcome {
        case .help(let text):
            print(text, terminator: "")
            return 0
        case .version:
            print(version)
            return 0
        case .run(let command, let arguments, let global):
            let logger = RuntimeLogger(path: global.log, format: global.logFormat)
            RuntimeLogger.current = logger
            RuntimeWarnings.handler = { logger.warning($0) }
            do {
                return try command.run(CommandContext(arguments: arguments, global: global))
            } catch {
                logger.error("\(error)")
                return 1
            }
        }
    }
}

/// What a command's body receives.
struct CommandContext {
    let arguments: ParsedArguments
    let global: GlobalOptions
    var runtime: Runtime { global.runtime }
}

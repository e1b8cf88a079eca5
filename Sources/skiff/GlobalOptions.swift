#if canImport(Glibc)
import Glibc
#endif
import LinuxSupport

/// The options docker and podman take before the command (`skiff --root R ps`,
/// `skiff --log-level debug pull x`), for every command. They are taken off the command line
/// before it is parsed and passed on as the environment variables the commands' own options
/// default to (`SKIFF_ROOT`, ...), so the same option after the command still wins, and every
/// process the command starts (the monitor, the runtime) sees them too.
struct GlobalOptions: Equatable {
    /// The command line without the global options.
    var arguments: [String]
    /// Variables to set before the command is parsed.
    var environment: [String: String] = [:]
    /// `-v`/`--version`: print the version and stop.
    var showVersion = false

    /// Options with a value, and the variable each sets.
    static let valued: [String: String] = [
        "--root": "SKIFF_ROOT", "--runtime-root": "SKIFF_RUNTIME_ROOT", "--default-registry": "SKIFF_DEFAULT_REGISTRY",
        "--log-level": Diagnostics.environmentVariable, "-l": Diagnostics.environmentVariable,
    ]

    enum Failure: Error, Equatable, CustomStringConvertible {
        case missingValue(String)
        case unknown(String)
        case badLogLevel(String)
        case daemonHost(String)

        var description: String {
            switch self {
            case .missingValue(let option): return "flag needs an argument: \(option)"
            case .unknown(let option):
                return "unknown flag: \(option) (the options before the command are --root, --runtime-root, --default-registry, "
                    + "--log-level, -D/--debug, -v/--version and -h/--help; see 'skiff --help')"
            case .badLogLevel(let value):
                return "invalid --log-level '\(value)': use " + LogLevel.allCases.map(\.name).joined(separator: ", ")
            case .daemonHost(let option):
                return "\(option): skiff has no daemon to connect to, it works on the store directly; to drive skiff with the docker "
                    + "CLI, run 'skiff system service' and set DOCKER_HOST to its socket"
            }
        }
    }

    /// Splits the global options off `arguments` (argv, with the program name first). Stops at
    /// the first word that is not an option (the command), at `--`, and at help requests, which
    /// ArgumentParser answers.
    static func extract(_ arguments: [String]) throws(Failure) -> GlobalOptions {
        var result = GlobalOptions(arguments: Array(arguments.prefix(1)))
        var index = 1
        while index < arguments.count {
            let argument = arguments[index]
            guard argument.hasPrefix("-"), argument != "-", argument != "--", !["-h", "--help", "-help"].contains(argument) else { break }
            let (name, inlineValue) = split(argument)
            if let variable = valued[name] {
                let value: String
                if let inlineValue {
                    value = inlineValue
                } else {
                    guard index + 1 < arguments.count else { throw .missingValue(name) }
                    index += 1
                    value = arguments[index]
                }
                if variable == Diagnostics.environmentVariable {
                    guard let level = LogLevel(parsing: value) else { throw .badLogLevel(value) }
                    result.environment[variable] = level.name
                } else {
                    result.environment[variable] = value
                }
            } else if name == "-D" || name == "--debug" {
                result.environment[Diagnostics.environmentVariable] = LogLevel.debug.name
            } else if name == "-v" || name == "--version" {
                result.showVersion = true
            } else if name == "-H" || name == "--host" || name == "--context" || name == "-c" {
                throw .daemonHost(name)
            } else {
                throw .unknown(name)
            }
            index += 1
        }
        result.arguments += arguments[index...]
        return result
    }

    private static func split(_ argument: String) -> (String, String?) {
        guard argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") else { return (argument, nil) }
        return (String(argument[..<equals]), String(argument[argument.index(after: equals)...]))
    }
}

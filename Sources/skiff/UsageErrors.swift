#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation

/// docker exits 125 on a command line it cannot parse (an unknown flag, a missing argument),
/// where ArgumentParser would exit 64: scripts that check for 125 see the same code from skiff.
/// Every error is printed in one style, `skiff: error: ...` (as the engine's own errors are),
/// not ArgumentParser's `Error: ...`.
enum UsageErrors {
    static func exit(for error: any Error) -> Never {
        let code = Skiff.exitCode(for: error)
        if code == .validationFailure {
            FileHandle.standardError.write(Data((styled(Skiff.fullMessage(for: error)) + "\n").utf8))
            Glibc.exit(125)
        }
        let message = Skiff.fullMessage(for: error)
        // Help and clean exits print to stdout, as ArgumentParser does.
        if code == .success {
            if message.contains("USAGE:") {
                // A help screen: it ends with the command's examples, as docker's reference does.
                let words = (try? GlobalOptions.extract(CommandLine.arguments).arguments.dropFirst()).map(Array.init) ?? []
                let command = CommandReference.command(for: words) ?? Skiff.self
                print(CommandReference.appendingExamples(to: message, of: command), terminator: "")
                Glibc.exit(0)
            }
            if !message.isEmpty { print(message) }
            Glibc.exit(0)
        }
        if !message.isEmpty { FileHandle.standardError.write(Data((styled(message) + "\n").utf8)) }
        Glibc.exit(code.rawValue)
    }

    static func styled(_ message: String) -> String {
        message.hasPrefix("Error: ") ? "skiff: error: " + message.dropFirst(7) : message
    }
}

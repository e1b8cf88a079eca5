#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation

/// docker exits 125 on a command line it cannot parse (an unknown flag, a missing argument),
/// where ArgumentParser would exit 64: scripts that check for 125 see the same code from skiff.
enum UsageErrors {
    static func exit(for error: any Error) -> Never {
        if Skiff.exitCode(for: error) == .validationFailure {
            FileHandle.standardError.write(Data((Skiff.fullMessage(for: error) + "\n").utf8))
            Glibc.exit(125)
        }
        Skiff.exit(withError: error)
    }
}

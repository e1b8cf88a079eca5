import ArgumentParser
import Foundation
import Registry

/// `skiff login REGISTRY`: checks credentials against the registry and saves them.
struct LoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "login", abstract: "Log in to a registry.")

    @OptionGroup var registry: RegistryCommandOptions

    @Option(name: .shortAndLong, help: "User name.")
    var username: String?

    @Option(name: .shortAndLong, help: "Password (prefer --password-stdin).")
    var password: String?

    @Flag(name: .customLong("password-stdin"), help: "Read the password from standard input.")
    var passwordStdin = false

    @Argument(help: "Registry host[:port] (default docker.io).")
    var server: String = "docker.io"

    func run() async throws {
        let host = Self.normalise(server)
        guard let username, !username.isEmpty else { throw ValidationError("give a user name with --username") }
        var secret = password
        if passwordStdin {
            secret = readLine(strippingNewline: true)
        }
        guard let secret, !secret.isEmpty else { throw ValidationError("give a password with --password-stdin or --password") }
        var options = registry.registryOptions()
        let credentials = Credentials(username: username, password: secret)
        options.explicitCredentials = credentials
        try await RegistryClient(registry: host, options: options).ping()
        try options.credentials.save(credentials, for: host)
        print("Login Succeeded (credentials saved in \(options.credentials.skiffFile))")
    }

    /// `https://host/` and Docker Hub's aliases to the key the store uses.
    static func normalise(_ server: String) -> String {
        var host = server
        for prefix in ["https://", "http://"] where host.hasPrefix(prefix) { host = String(host.dropFirst(prefix.count)) }
        if let slash = host.firstIndex(of: "/") { host = String(host[..<slash]) }
        if host == "index.docker.io" || host == "registry-1.docker.io" { host = "docker.io" }
        return host
    }
}

/// `skiff logout REGISTRY`: forgets saved credentials.
struct LogoutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "logout", abstract: "Log out of a registry.")

    @Option(help: "Credentials file (default ~/.config/skiff/auth.json).")
    var authfile: String?

    @Argument(help: "Registry host[:port] (default docker.io).")
    var server: String = "docker.io"

    func run() async throws {
        let host = LoginCommand.normalise(server)
        let store = CredentialStore(skiffFile: authfile)
        if try store.remove(for: host) {
            print("Removing login credentials for \(host)")
        } else {
            print("Not logged in to \(host)")
        }
    }
}

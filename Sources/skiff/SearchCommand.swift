import ArgumentParser
import Engine
import Foundation
import OCISpec
import Registry

/// `skiff search [REGISTRY/]TERM`: the repositories of a registry's v2 catalog whose names
/// contain TERM, in docker's columns. Docker Hub's search API is not spoken: a registry without
/// a catalog (Docker Hub among them) gets a message that says so.
struct SearchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search", abstract: "Search a registry's catalog for repositories (REGISTRY/TERM, e.g. 127.0.0.1:5000/busy).")

    @OptionGroup var registry: RegistryCommandOptions
    @Option(name: .customLong("default-registry"), help: "Registry searched when TERM names none.")
    var defaultRegistry: String = ProcessInfo.processInfo.environment["SKIFF_DEFAULT_REGISTRY"] ?? ImageReference.dockerHub
    @Option(help: "At most this many results (1-100).") var limit: Int = 25
    @Option(name: [.customShort("f"), .customLong("filter")], help: "stars=N, is-official=true|false, is-automated=true|false.")
    var filter: [String] = []
    @Option(help: "A Go template over each result ('{{.Name}}'), or 'table TEMPLATE'.") var format: String?
    @Flag(name: .customLong("no-trunc"), help: "Do not truncate the description.") var noTrunc = false
    @Argument(help: "[REGISTRY/]TERM: a registry host[:port] and the text repository names must contain.") var term: String

    struct Result: Encodable {
        var Name: String
        var Description: String
        var StarCount: String
        var IsOfficial: String
        var IsAutomated: String
    }

    func run() async throws {
        try await withEngineErrors { try await search() }
    }

    func search() async throws {
        do {
            try await searchCatalog()
        } catch let error as SearchError {
            printEngineError(error.description)
            throw ExitCode(1)
        } catch let error as RegistryError {
            printEngineError(error.description)
            throw ExitCode(1)
        }
    }

    func searchCatalog() async throws {
        guard (1...100).contains(limit) else { throw EngineError.invalidOption("--limit \(limit): give 1 to 100") }
        let (host, text) = Self.split(term, defaultRegistry: defaultRegistry)
        var minimumStars = 0
        var official: Bool?
        for entry in filter {
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            switch (parts.first, parts.count == 2 ? parts[1] : nil) {
            case ("stars", let value?) where Int(value) != nil: minimumStars = Int(value) ?? 0
            case ("is-official", "true"), ("is-automated", "true"): official = true
            case ("is-official", "false"), ("is-automated", "false"): official = official ?? false
            default:
                throw EngineError.invalidOption(
                    "invalid filter '\(entry)': use stars=N, is-official=true|false or is-automated=true|false")
            }
        }
        guard host != ImageReference.dockerHub else {
            throw SearchError(
                "skiff search reads a registry's v2 catalog (GET /v2/_catalog); Docker Hub has none and its search API is not supported: name the registry, e.g. skiff search 127.0.0.1:5000/\(text)"
            )
        }
        let client = try RegistryClient(registry: host, options: registry.registryOptions())
        guard let names = try await client.catalog() else {
            throw SearchError(
                "registry \(host) does not list its repositories (GET /v2/_catalog was refused or not found): search needs a registry that serves its catalog; pull by name instead"
            )
        }
        // A registry's catalog has no stars, descriptions or official images: a filter that
        // asks for them matches nothing, as it would on Docker Hub.
        let matching = names.filter { text.isEmpty || $0.localizedCaseInsensitiveContains(text) }
        let results =
            (minimumStars > 0 || official == true ? [] : matching).prefix(limit).map {
                Result(Name: host + "/" + $0, Description: "", StarCount: "0", IsOfficial: "", IsAutomated: "")
            }
        if let format {
            try TemplateOutput.printRows(
                Array(results), format: format,
                headers: Result(
                    Name: "NAME", Description: "DESCRIPTION", StarCount: "STARS", IsOfficial: "OFFICIAL", IsAutomated: "AUTOMATED"))
            return
        }
        print(
            TextTable.render(
                [["NAME", "DESCRIPTION", "STARS", "OFFICIAL"]] + results.map { [$0.Name, $0.Description, $0.StarCount, $0.IsOfficial] }))
    }

    /// `host[:port]/term` (a first component with a dot or colon, or localhost, is a registry, as
    /// in image names) or a bare term on the default registry.
    static func split(_ term: String, defaultRegistry: String) -> (registry: String, term: String) {
        guard let slash = term.firstIndex(of: "/") else { return (defaultRegistry, term) }
        let first = String(term[..<slash])
        guard first.contains(".") || first.contains(":") || first == "localhost" else { return (defaultRegistry, term) }
        return (
            first == "index.docker.io" || first == "registry-1.docker.io" ? ImageReference.dockerHub : first,
            String(term[term.index(after: slash)...])
        )
    }
}

/// What `search` could not do, with docker's exit code 1 for a management command.
struct SearchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

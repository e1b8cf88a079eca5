import Foundation
import JSON

/// A user name and password (or identity token) for one registry.
public struct Credentials: Sendable, Equatable {
    public var username: String
    public var password: String

    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }

    /// The value of an `Authorization: Basic` header.
    public var basicHeader: String {
        "Basic " + Data("\(username):\(password)".utf8).base64EncodedString()
    }
}

/// Registry credentials in docker's `config.json` format (`{"auths": {"host": {"auth": base64}}}`).
///
/// It exists so `skiff login` and `docker login` share credentials: skiff reads its own file
/// (`$SKIFF_AUTH_FILE`, default `~/.config/skiff/auth.json`) and then docker's
/// (`$DOCKER_CONFIG/config.json`, default `~/.docker/config.json`), and writes only its own,
/// in the same format, mode 0600. Unknown keys in the file are kept.
public struct CredentialStore: Sendable {
    public var skiffFile: String
    public var dockerFile: String

    public init(skiffFile: String? = nil, dockerFile: String? = nil) {
        let environment = ProcessInfo.processInfo.environment
        let home = environment["HOME"] ?? "/root"
        self.skiffFile = skiffFile ?? environment["SKIFF_AUTH_FILE"] ?? "\(home)/.config/skiff/auth.json"
        self.dockerFile = dockerFile ?? environment["DOCKER_CONFIG"].map { $0 + "/config.json" } ?? "\(home)/.docker/config.json"
    }

    /// The keys a registry may be stored under (docker writes Docker Hub as a v1 URL).
    static func keys(for registry: String) -> [String] {
        if registry == "docker.io" || registry == "registry-1.docker.io" || registry == "index.docker.io" {
            return ["https://index.docker.io/v1/", "docker.io", "index.docker.io", "registry-1.docker.io"]
        }
        return [registry, "https://\(registry)", "http://\(registry)", "https://\(registry)/v1/", "https://\(registry)/v2/"]
    }

    /// Credentials for `registry`, from skiff's file first, then docker's.
    public func credentials(for registry: String) throws -> Credentials? {
        for file in [skiffFile, dockerFile] {
            guard let auths = try Self.load(file)["auths"], case .object = auths else { continue }
            for key in Self.keys(for: registry) {
                guard let entry = auths[key] else { continue }
                if case .string(let auth)? = entry["auth"], let decoded = Data(base64Encoded: auth),
                    let text = String(data: decoded, encoding: .utf8), let colon = text.firstIndex(of: ":")
                {
                    return Credentials(username: String(text[..<colon]), password: String(text[text.index(after: colon)...]))
                }
                if case .string(let username)? = entry["username"], case .string(let password)? = entry["password"] {
                    return Credentials(username: username, password: password)
                }
            }
        }
        return nil
    }

    /// Saves credentials for `registry` in skiff's file.
    public func save(_ credentials: Credentials, for registry: String) throws {
        var root = try Self.load(skiffFile)
        var auths = Self.members(root["auths"])
        let key = Self.keys(for: registry)[0]
        let auth = Data("\(credentials.username):\(credentials.password)".utf8).base64EncodedString()
        auths.removeAll { $0.key == key }
        auths.append((key, .object([("auth", .string(auth))])))
        Self.set(&root, "auths", .object(auths))
        try write(root)
    }

    /// Removes `registry`'s credentials from skiff's file; false if there were none.
    @discardableResult
    public func remove(for registry: String) throws -> Bool {
        var root = try Self.load(skiffFile)
        guard let found = root["auths"], case .object(var auths) = found else { return false }
        let keys = Set(Self.keys(for: registry))
        let before = auths.count
        auths.removeAll { keys.contains($0.key) }
        guard auths.count != before else { return false }
        Self.set(&root, "auths", .object(auths))
        try write(root)
        return true
    }

    private func write(_ root: JSONValue) throws {
        let directory = (skiffFile as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let data = Data(root.serialized(pretty: true, sortedKeys: true))
        let temporary = skiffFile + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: temporary, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw RegistryError.badResponse(what: "saving credentials", detail: "cannot write \(temporary)")
        }
        guard rename(temporary, skiffFile) == 0 else {
            unlink(temporary)
            throw RegistryError.badResponse(what: "saving credentials", detail: "cannot rename to \(skiffFile)")
        }
    }

    /// The file's top-level object (empty when the file is missing or empty); unknown keys kept.
    static func load(_ path: String) throws -> JSONValue {
        guard let data = FileManager.default.contents(atPath: path), !data.isEmpty else { return .object([]) }
        guard let object = try? JSONValue.parse(Array(data)), case .object = object else {
            throw RegistryError.badResponse(what: "credentials file \(path)", detail: "not valid JSON: fix or remove it")
        }
        return object
    }

    /// The members of `value` if it is an object, else none.
    private static func members(_ value: JSONValue?) -> [(key: String, value: JSONValue)] {
        if case .object(let members)? = value { return members }
        return []
    }

    /// Sets `key` in the object `root`, in place when it is there, else at the end.
    private static func set(_ root: inout JSONValue, _ key: String, _ value: JSONValue) {
        var members = members(root)
        if let index = members.lastIndex(where: { $0.key == key }) { members[index].value = value } else { members.append((key, value)) }
        root = .object(members)
    }
}

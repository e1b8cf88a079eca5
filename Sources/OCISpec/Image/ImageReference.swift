/// An image name as the user types it, normalised the way docker does:
/// `busybox` is `docker.io/library/busybox:latest`, `localhost:5000/app@sha256:...` keeps its
/// registry and digest.
///
/// It exists so that every command, the store's name index and the registry client agree on one
/// canonical spelling of an image name, and a bad name is rejected with the rule it broke.
public struct ImageReference: Hashable, Sendable, CustomStringConvertible {
    /// Registry host, with a port when one was given (`docker.io`, `127.0.0.1:5000`).
    public var registry: String
    /// Repository path inside the registry (`library/busybox`).
    public var repository: String
    /// The tag; `latest` when neither a tag nor a digest was given.
    public var tag: String?
    /// The manifest digest, when pinned with `@sha256:...`.
    public var digest: Digest?

    /// Docker Hub's canonical registry name.
    public static let dockerHub = "docker.io"

    public init(registry: String, repository: String, tag: String? = nil, digest: Digest? = nil) {
        self.registry = registry
        self.repository = repository
        self.tag = tag
        self.digest = digest
    }

    /// Parses and normalises `text`; names without a registry get `defaultRegistry`.
    public init(parsing text: String, defaultRegistry: String = ImageReference.dockerHub) throws(ReferenceError) {
        guard !text.isEmpty else { throw .empty }
        guard text.utf8.count <= 1024 else { throw .tooLong(text) }
        var remainder = Substring(text)
        var digest: Digest?
        if let at = remainder.firstIndex(of: "@") {
            let digestText = String(remainder[remainder.index(after: at)...])
            do { digest = try Digest(parsing: digestText) } catch { throw .badDigest(text, error.description) }
            remainder = remainder[..<at]
        }
        var tag: String?
        let lastSlash = remainder.lastIndex(of: "/")
        if let colon = remainder.lastIndex(of: ":"), lastSlash.map({ colon > $0 }) ?? true {
            let tagText = String(remainder[remainder.index(after: colon)...])
            guard Self.isValidTag(tagText) else { throw .badTag(text, tagText) }
            tag = tagText
            remainder = remainder[..<colon]
        }
        var components = remainder.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        var registry = defaultRegistry
        if components.count > 1, Self.looksLikeRegistry(components[0]) {
            registry = components.removeFirst()
            guard Self.isValidRegistry(registry) else { throw .badRegistry(text, registry) }
        }
        if registry == "index.docker.io" || registry == "registry-1.docker.io" { registry = Self.dockerHub }
        if registry == Self.dockerHub && components.count == 1 { components.insert("library", at: 0) }
        guard !components.isEmpty else { throw .badName(text) }
        for component in components where !Self.isValidPathComponent(component) {
            if component.contains(where: \.isUppercase) { throw .uppercase(text) }
            throw .badName(text)
        }
        let repository = components.joined(separator: "/")
        guard repository.utf8.count + registry.utf8.count < 256 else { throw .tooLong(text) }
        if tag == nil && digest == nil { tag = "latest" }
        self.init(registry: registry, repository: repository, tag: tag, digest: digest)
    }

    /// `registry/repository`, without tag or digest.
    public var name: String { "\(registry)/\(repository)" }

    /// The full canonical form: `docker.io/library/busybox:latest`, with `@digest` when pinned.
    public var description: String {
        var text = name
        if let tag { text += ":" + tag }
        if let digest { text += "@" + digest.description }
        return text
    }

    /// The short form docker prints: `busybox:latest` for Docker Hub's library images.
    public var familiar: String {
        var text = familiarName
        if let tag { text += ":" + tag }
        if let digest { text += "@" + digest.description }
        return text
    }

    /// The repository name as docker shows it in `docker images`.
    public var familiarName: String {
        if registry == Self.dockerHub {
            return repository.hasPrefix("library/") ? String(repository.dropFirst("library/".count)) : repository
        }
        return name
    }

    /// What the registry is asked for: the digest when pinned, else the tag.
    public var manifestReference: String { digest?.description ?? tag ?? "latest" }

    /// The same name with another tag and no digest (for `skiff tag`).
    public func withTag(_ newTag: String) -> ImageReference {
        ImageReference(registry: registry, repository: repository, tag: newTag, digest: nil)
    }

    // MARK: grammar (distribution/reference)

    static func looksLikeRegistry(_ component: String) -> Bool {
        component.contains(".") || component.contains(":") || component == "localhost"
            || component.contains(where: \.isUppercase)
    }

    static func isValidRegistry(_ host: String) -> Bool {
        var hostPart = Substring(host)
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return false }
            hostPart = host[host.index(after: host.startIndex)..<close]
            let rest = host[host.index(after: close)...]
            if !rest.isEmpty {
                guard rest.first == ":", rest.dropFirst().allSatisfy(\.isNumber), rest.count > 1 else { return false }
            }
            return hostPart.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." }
        }
        if let colon = host.lastIndex(of: ":") {
            let port = host[host.index(after: colon)...]
            guard !port.isEmpty, port.count <= 5, port.allSatisfy(\.isNumber) else { return false }
            hostPart = host[..<colon]
        }
        guard !hostPart.isEmpty else { return false }
        return hostPart.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && label.first != "-" && label.last != "-"
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }
    }

    /// `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`
    static func isValidPathComponent(_ component: String) -> Bool {
        let bytes = Array(component.utf8)
        guard let first = bytes.first, let last = bytes.last, isAlnum(first), isAlnum(last) else { return false }
        var i = 0
        while i < bytes.count {
            if isAlnum(bytes[i]) {
                i += 1
                continue
            }
            // a separator run: ".", "_", "__" or one or more "-"
            let start = i
            if bytes[i] == UInt8(ascii: "-") {
                while i < bytes.count && bytes[i] == UInt8(ascii: "-") { i += 1 }
            } else if bytes[i] == UInt8(ascii: ".") {
                i += 1
            } else if bytes[i] == UInt8(ascii: "_") {
                i += 1
                if i < bytes.count && bytes[i] == UInt8(ascii: "_") { i += 1 }
            } else {
                return false
            }
            guard i > start, i < bytes.count, isAlnum(bytes[i]) else { return false }
        }
        return true
    }

    /// `[\w][\w.-]{0,127}`
    public static func isValidTag(_ tag: String) -> Bool {
        let bytes = Array(tag.utf8)
        guard let first = bytes.first, bytes.count <= 128, isWord(first) else { return false }
        return bytes.allSatisfy { isWord($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
    }

    private static func isAlnum(_ byte: UInt8) -> Bool {
        (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x30 && byte <= 0x39)
    }

    private static func isWord(_ byte: UInt8) -> Bool {
        isAlnum(byte) || (byte >= 0x41 && byte <= 0x5a) || byte == UInt8(ascii: "_")
    }
}

/// Why an image name was rejected.
public enum ReferenceError: Error, CustomStringConvertible, Equatable, Sendable {
    case empty
    case tooLong(String)
    case badDigest(String, String)
    case badTag(String, String)
    case badRegistry(String, String)
    case badName(String)
    case uppercase(String)

    public var description: String {
        switch self {
        case .empty:
            return "empty image name: give a name such as busybox or 127.0.0.1:5000/app:1.0"
        case .tooLong(let text):
            return "image name '\(text.prefix(80))...' is too long: names are limited to 255 characters"
        case .badDigest(let text, let why):
            return "invalid image name '\(text)': \(why)"
        case .badTag(let text, let tag):
            return "invalid tag '\(tag)' in '\(text)': tags are up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'"
        case .badRegistry(let text, let host):
            return "invalid registry '\(host)' in '\(text)': expected host or host:port"
        case .badName(let text):
            return "invalid image name '\(text)': path components are lowercase letters and digits separated by '.', '_', '__' or '-'"
        case .uppercase(let text):
            return "invalid image name '\(text)': repository names must be lowercase"
        }
    }
}

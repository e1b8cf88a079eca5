/// The container's /etc/resolv.conf and /etc/hosts as docker writes them. Pure, so unit-tested.
public enum HostFiles {
    /// One `--add-host NAME:IP`.
    public struct ExtraHost: Sendable, Equatable {
        public var name: String
        public var address: String

        public init(parsing text: String) throws {
            guard let colon = text.firstIndex(of: ":") else {
                throw HostFilesError.invalidExtraHost(text)
            }
            let name = String(text[..<colon])
            var address = String(text[text.index(after: colon)...])
            if address.hasPrefix("[") && address.hasSuffix("]") { address = String(address.dropFirst().dropLast()) }
            guard !name.isEmpty, !name.contains(where: { $0 == " " || $0 == "\t" }),
                  IPv4Address(address) != nil || (address.contains(":") && address.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." })) else {
                throw HostFilesError.invalidExtraHost(text)
            }
            self.name = name
            self.address = address
        }
    }

    /// resolv.conf: --dns/--dns-search replace the host's nameservers/search domains; the host's
    /// loopback nameservers are dropped on a private network namespace (they cannot be reached
    /// from it).
    public static func resolvConf(host: String?, dns: [String], search: [String], privateNetwork: Bool) throws -> String {
        for server in dns where IPv4Address(server) == nil && !server.contains(":") {
            throw HostFilesError.invalidNameserver(server)
        }
        var nameservers: [String] = []
        var searches: [String] = []
        var others: [String] = []
        for line in (host ?? "").split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let keyword = fields.first, !keyword.hasPrefix("#"), !keyword.hasPrefix(";") else { continue }
            switch keyword {
            case "nameserver" where fields.count > 1:
                if privateNetwork && (fields[1].hasPrefix("127.") || fields[1] == "::1") { continue }
                nameservers.append(fields[1])
            case "search", "domain": searches = Array(fields.dropFirst())
            default: others.append(fields.joined(separator: " "))
            }
        }
        if !dns.isEmpty { nameservers = dns }
        if !search.isEmpty { searches = search == ["."] ? [] : search }
        var text = ""
        if !searches.isEmpty { text += "search " + searches.joined(separator: " ") + "\n" }
        for server in nameservers { text += "nameserver \(server)\n" }
        for other in others { text += other + "\n" }
        return text
    }

    /// /etc/hosts: localhost entries, the container's own address (its IP on a bridge network,
    /// 127.0.1.1 otherwise) with its hostname and name, then each --add-host.
    public static func hosts(hostname: String, name: String?, address: String?, extraHosts: [ExtraHost]) -> String {
        var text = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
        var names = hostname
        if let name, name != hostname { names += " " + name }
        text += "\(address ?? "127.0.1.1")\t\(names)\n"
        for extra in extraHosts { text += "\(extra.address)\t\(extra.name)\n" }
        return text
    }
}

/// Bad --add-host or --dns input.
public enum HostFilesError: Error, CustomStringConvertible, Sendable, Equatable {
    case invalidExtraHost(String)
    case invalidNameserver(String)

    public var description: String {
        switch self {
        case .invalidExtraHost(let text): return "invalid --add-host '\(text)': use NAME:IP (an IPv4 or IPv6 address)"
        case .invalidNameserver(let text): return "invalid --dns '\(text)': give the IP address of a nameserver"
        }
    }
}

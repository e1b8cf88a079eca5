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
                IPv4Address(address) != nil || (address.contains(":") && address.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }))
            else {
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

    /// Another container on the same user network, as this one's /etc/hosts names it.
    public struct Peer: Sendable, Equatable {
        public var address: String
        /// Its container name, short ID and --network-alias names.
        public var names: [String]

        public init(address: String, names: [String]) {
            self.address = address
            self.names = names
        }
    }

    /// /etc/hosts: localhost entries, the container's own address (its IP on a bridge network,
    /// 127.0.1.1 otherwise) with its hostname and name, then each --add-host, then the other
    /// containers of a user network (after the user's lines, so an --add-host of the same name
    /// wins, as it does over docker's embedded DNS). Peers are sorted by address, so every
    /// rewrite of an unchanged set gives the same bytes.
    public static func hosts(
        hostname: String, name: String?, address: String?, extraHosts: [ExtraHost],
        peers: [Peer] = []
    ) -> String {
        var text = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
        var names = hostname
        if let name, name != hostname { names += " " + name }
        text += "\(address ?? "127.0.1.1")\t\(names)\n"
        for extra in extraHosts { text += "\(extra.address)\t\(extra.name)\n" }
        for peer in sortedByAddress(peers, \.address) where peer.address != address { text += peerLine(peer) }
        return text
    }

    /// A peer's hosts line (its names without repeats), empty when it has no name.
    public static func peerLine(_ peer: Peer) -> String {
        var seen: Set<String> = []
        let unique = peer.names.filter { !$0.isEmpty && seen.insert($0).inserted }
        return unique.isEmpty ? "" : "\(peer.address)\t\(unique.joined(separator: " "))\n"
    }

    /// `items` in address order (IPv4 numerically, anything else after, by text); each address
    /// parsed once.
    public static func sortedByAddress<T>(_ items: [T], _ address: (T) -> String) -> [T] {
        let keyed: [(key: UInt32, text: String, item: T)] = items.map { item in
            let text = address(item)
            return (IPv4Address(text)?.value ?? .max, text, item)
        }
        let sorted = keyed.sorted { left, right in left.key != right.key ? left.key < right.key : left.text < right.text }
        return sorted.map { $0.item }
    }

    /// Whether `name` may be a --network-alias: a host name's characters (letters, digits, `-`,
    /// `_`, `.`), not starting with `-` or `.`, at most 253 bytes, so it is one field of a hosts line.
    public static func isValidAlias(_ name: String) -> Bool {
        guard let first = name.first, first != "-", first != ".", name.utf8.count <= 253 else { return false }
        return name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") }
    }
}

/// Bad --add-host or --dns input.
public enum HostFilesError: Error, CustomStringConvertible, Sendable, Equatable {
    case invalidExtraHost(String)
    case invalidNameserver(String)
    case invalidAlias(String)

    public var description: String {
        switch self {
        case .invalidExtraHost(let text): return "invalid --add-host '\(text)': use NAME:IP (an IPv4 or IPv6 address)"
        case .invalidNameserver(let text): return "invalid --dns '\(text)': give the IP address of a nameserver"
        case .invalidAlias(let text):
            return "invalid --network-alias '\(text)': use a host name (letters, digits, '-', '_', '.'; not starting with '-' or '.')"
        }
    }
}

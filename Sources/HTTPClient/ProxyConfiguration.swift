#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// The proxies named by HTTP_PROXY, HTTPS_PROXY and NO_PROXY (either case), applied the way Go's
/// net/http (and so docker) applies them: loopback targets never go through a proxy, NO_PROXY
/// lists hosts, domain suffixes (`.example.com` or `example.com`), `host:port`, IP ranges in CIDR
/// notation (`10.0.0.0/8`, `fd00::/8`), or `*`.
public struct ProxyConfiguration: Sendable {
    public var httpProxy: URL?
    public var httpsProxy: URL?
    public var noProxy: [String]

    public init(httpProxy: URL? = nil, httpsProxy: URL? = nil, noProxy: [String] = []) {
        self.httpProxy = httpProxy
        self.httpsProxy = httpsProxy
        self.noProxy = noProxy
    }

    /// No proxy at all.
    public static let none = ProxyConfiguration()

    /// From the process environment.
    public static func fromEnvironment() -> ProxyConfiguration {
        func variable(_ name: String) -> String? {
            for candidate in [name, name.lowercased()] {
                if let value = getenv(candidate), let text = Optional(String(cString: value)), !text.isEmpty { return text }
            }
            return nil
        }
        func proxyURL(_ text: String?) -> URL? {
            guard let text else { return nil }
            return URL(string: text.contains("://") ? text : "http://" + text)
        }
        let noProxy = (variable("NO_PROXY") ?? "").split(separator: ",").map { $0.trimmingHTTPSpaces().lowercased() }.filter { !$0.isEmpty }
        return ProxyConfiguration(
            httpProxy: proxyURL(variable("HTTP_PROXY")), httpsProxy: proxyURL(variable("HTTPS_PROXY")), noProxy: noProxy)
    }

    /// The proxy to use for `endpoint`, if any.
    func proxy(for endpoint: Endpoint) -> URL? {
        guard let proxy = endpoint.secure ? httpsProxy : httpProxy else { return nil }
        return bypasses(endpoint) ? nil : proxy
    }

    func bypasses(_ endpoint: Endpoint) -> Bool {
        let host = endpoint.host.lowercased()
        if host == "localhost" || host.hasSuffix(".localhost") || host == "::1" || host.hasPrefix("127.") && isIPAddress(host) {
            return true
        }
        for entry in noProxy {
            if entry == "*" { return true }
            if entry.contains("/") {
                if Self.cidr(entry, contains: host) { return true }
                continue
            }
            var name = Substring(entry)
            var port: Int?
            if let colon = entry.lastIndex(of: ":"), !entry.hasSuffix("]"), entry.firstIndex(of: ":") == colon,
                let parsed = Int(entry[entry.index(after: colon)...])
            {
                name = entry[..<colon]
                port = parsed
            }
            if name.hasPrefix("[") && name.hasSuffix("]") { name = name.dropFirst().dropLast() }
            if let port, port != endpoint.port { continue }
            if name.hasPrefix(".") {
                if host.hasSuffix(name) || host == name.dropFirst() { return true }
            } else if host == name || host.hasSuffix("." + name) {
                return true
            }
        }
        return false
    }

    /// Whether the IP literal `host` lies in `range` ("address/bits").
    static func cidr(_ range: String, contains host: String) -> Bool {
        let parts = range.split(separator: "/", maxSplits: 1)
        guard parts.count == 2, let bits = Int(parts[1]), let network = ipBytes(String(parts[0])), let address = ipBytes(host),
            network.count == address.count, (0...network.count * 8).contains(bits)
        else { return false }
        for index in 0..<network.count {
            let remaining = bits - index * 8
            if remaining <= 0 { break }
            let mask: UInt8 = remaining >= 8 ? 0xff : ~(0xff >> UInt8(remaining))
            if network[index] & mask != address[index] & mask { return false }
        }
        return true
    }

    /// The bytes of an IPv4 or IPv6 literal.
    static func ipBytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }
}

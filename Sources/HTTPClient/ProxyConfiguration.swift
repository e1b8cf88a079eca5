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
/// lists hosts, domain suffixes (`.example.com` or `example.com`), `host:port`, or `*`.
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
        return ProxyConfiguration(httpProxy: proxyURL(variable("HTTP_PROXY")), httpsProxy: proxyURL(variable("HTTPS_PROXY")), noProxy: noProxy)
    }

    /// The proxy to use for `endpoint`, if any.
    func proxy(for endpoint: Endpoint) -> URL? {
        guard let proxy = endpoint.secure ? httpsProxy : httpProxy else { return nil }
        return bypasses(endpoint) ? nil : proxy
    }

    func bypasses(_ endpoint: Endpoint) -> Bool {
        let host = endpoint.host.lowercased()
        if host == "localhost" || host.hasSuffix(".localhost") || host == "::1" || host.hasPrefix("127.") && isIPAddress(host) { return true }
        for entry in noProxy {
            if entry == "*" { return true }
            var name = Substring(entry)
            var port: Int?
            if let colon = entry.lastIndex(of: ":"), !entry.hasSuffix("]"), entry.firstIndex(of: ":") == colon, let parsed = Int(entry[entry.index(after: colon)...]) {
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
}

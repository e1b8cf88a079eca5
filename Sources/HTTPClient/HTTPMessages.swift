#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A request to send: method, absolute http(s) URL, header fields and body.
///
/// It exists as the registry client's own request type, so nothing depends on
/// FoundationNetworking's URLRequest (and the libcurl it loads at every process start).
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: URL
    public var headers: HTTPHeaders
    public var body: HTTPRequestBody

    public init(method: String = "GET", url: URL, headers: HTTPHeaders = HTTPHeaders(), body: HTTPRequestBody = .none) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

/// What follows the request head: nothing, bytes in memory, a file (sent with Content-Length,
/// read in slices so it is never in memory whole), or a stream of slices of unknown total
/// length (sent chunked; `nil` ends it).
public enum HTTPRequestBody: Sendable {
    case none
    case bytes([UInt8])
    case file(path: String)
    case stream(@Sendable () throws -> [UInt8]?)

    /// Whether the body can be sent again (after a redirect or on a fresh connection).
    var isReplayable: Bool {
        if case .stream = self { return false }
        return true
    }
}

/// A response's status line and header fields, before its body.
public struct HTTPResponseHead: Sendable {
    public var version: String
    public var status: Int
    public var reason: String
    public var headers: HTTPHeaders

    public init(version: String = "HTTP/1.1", status: Int, reason: String = "", headers: HTTPHeaders = HTTPHeaders()) {
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers
    }
}

/// One exchange's outcome: the final status and headers (after redirects), the body when it
/// was buffered (non-2xx answers, or 2xx without a sink), and the URL that answered.
public struct HTTPResult: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: [UInt8]
    public var url: URL

    public init(status: Int, headers: HTTPHeaders, body: [UInt8], url: URL) {
        self.status = status
        self.headers = headers
        self.body = body
        self.url = url
    }

    /// A header by case-insensitive name.
    public func header(_ name: String) -> String? { headers[name] }
}

/// Where a connection goes: scheme, host (without IPv6 brackets) and port.
struct Endpoint: Hashable, Sendable, CustomStringConvertible {
    var secure: Bool
    var host: String
    var port: Int

    init(secure: Bool, host: String, port: Int) {
        self.secure = secure
        self.host = host
        self.port = port
    }

    init(_ url: URL) throws {
        guard let scheme = url.scheme?.lowercased() else { throw HTTPClientError.invalidURL(url.absoluteString) }
        switch scheme {
        case "http": secure = false
        case "https": secure = true
        default: throw HTTPClientError.unsupportedScheme(scheme)
        }
        guard var host = url.host(percentEncoded: false), !host.isEmpty else { throw HTTPClientError.invalidURL(url.absoluteString) }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        self.host = host
        port = url.port ?? (secure ? 443 : 80)
        guard (1...65535).contains(port) else { throw HTTPClientError.invalidURL(url.absoluteString) }
    }

    var isIPv6Literal: Bool { host.contains(":") }

    /// The Host header value: the port only when it is not the scheme's default.
    var hostHeader: String {
        let name = isIPv6Literal ? "[\(host)]" : host
        return port == (secure ? 443 : 80) ? name : "\(name):\(port)"
    }

    /// host:port as docker's certs.d directories name registries.
    var authority: String {
        let name = isIPv6Literal ? "[\(host)]" : host
        return "\(name):\(port)"
    }

    var description: String { "\(secure ? "https" : "http")://\(authority)" }
}

extension URL {
    /// The origin-form request target: path (at least "/") and query, as encoded in the URL.
    var requestTarget: String {
        var path = self.path(percentEncoded: true)
        if path.isEmpty { path = "/" }
        if let query = self.query(percentEncoded: true) { path += "?" + query }
        return path
    }
}

import Foundation
import HTTPClient
import JSON
import OCISpec
import Synchronization

/// How to reach registries: which may use plain HTTP, timeouts, retries and credentials.
public struct RegistryOptions: Sendable {
    /// Registries (host[:port]) that may be contacted over plain HTTP besides loopback ones.
    public var insecureRegistries: Set<String> = []
    /// Seconds without any bytes before a request fails (each try; see `attempts`).
    public var timeout: Double = 30
    /// Bytes per second a transfer must average over any `lowSpeedTime` seconds, or it fails
    /// (not retried); 0 turns the check off. 1 KiB/s: a link that slow would need 12 days for a
    /// 1 GiB layer, so nothing honest is cut off, while a server dripping bytes to stay under
    /// the idle timeout is.
    public var lowSpeedLimit: Int = 1024
    /// Seconds over which `lowSpeedLimit` is measured; 0 turns the check off. 60 s rides out
    /// TCP's retransmission back-off (1+2+4+8 s) and a registry's pauses, and is longer than the
    /// idle timeout, so a registry that goes silent altogether still gets the idle timeout's
    /// retries (and a Range resume) rather than failing on its speed; this check is for
    /// registries that keep sending, but too little.
    public var lowSpeedTime: Double = 60
    /// Seconds a manifest, token or other small request may take in all, connect and redirects
    /// included (not retried); 0 turns it off. Blob transfers have the low-speed limit instead.
    /// 60 s: manifests are a few KiB, so this only ends a server that drips or never finishes.
    public var requestDeadline: Double = 60
    /// Attempts per request for transient failures (connection errors, 429, 5xx).
    public var attempts: Int = 3
    /// Largest manifest or index accepted.
    public var manifestLimit: Int = 4 << 20
    /// Parallel layer transfers.
    public var parallelTransfers: Int = 4
    public var credentials: CredentialStore = CredentialStore()
    /// Credentials given on the command line, used before any stored ones.
    public var explicitCredentials: Credentials?
    /// Trusted CAs: the system store plus per-registry `certs.d/<host:port>/*.crt` directories
    /// (/etc/skiff/certs.d, /etc/docker/certs.d, /etc/containers/certs.d).
    public var trust = TrustConfiguration()
    /// HTTP(S) proxies; from HTTP_PROXY, HTTPS_PROXY and NO_PROXY by default.
    public var proxy = ProxyConfiguration.fromEnvironment()

    public init() {}
}

/// A client for one registry host speaking the OCI distribution spec (`/v2/...`).
///
/// It exists to hide the protocol's ceremony behind a few calls: it picks HTTPS (or HTTP for
/// loopback and `--insecure` registries, unless a certs.d directory names a CA for them), answers `401` challenges with basic or bearer auth
/// (fetching tokens from the realm the registry names, per scope, and reusing them), retries
/// transient failures, and turns every HTTP status into a `RegistryError` that names what
/// was asked for.
public final class RegistryClient: Sendable {
    public let registry: String
    let baseURL: URL
    let options: RegistryOptions
    let transport: HTTPClient
    /// Bearer tokens per scope set, whether basic auth was asked for, the credentials once read.
    private struct AuthState {
        var tokens: [String: String] = [:]
        var useBasic = false
        var cachedCredentials: Credentials??
    }
    private let auth = Mutex(AuthState())

    public init(registry: String, options: RegistryOptions) throws {
        self.registry = registry
        self.options = options
        let host = registry == ImageReference.dockerHub ? "registry-1.docker.io" : registry
        let scheme = Self.usesPlainHTTP(registry, options: options) ? "http" : "https"
        guard let url = URL(string: "\(scheme)://\(host)"), url.host != nil else {
            throw RegistryError.badResponse(what: "registry name", detail: "'\(registry)' is not a valid host")
        }
        baseURL = url
        var configuration = HTTPClient.Configuration()
        configuration.connectTimeout = options.timeout
        configuration.idleTimeout = options.timeout
        configuration.lowSpeedLimit = options.lowSpeedLimit
        configuration.lowSpeedTime = options.lowSpeedTime
        configuration.maxIdleConnectionsPerHost = max(4, options.parallelTransfers + 2)
        configuration.trust = options.trust
        configuration.proxy = options.proxy
        transport = HTTPClient(configuration: configuration)
    }

    deinit { transport.shutdown() }

    /// Plain HTTP when allowed, except for a registry with a certs.d directory: a CA configured
    /// for it means it speaks TLS (as docker decides for loopback registries).
    static func usesPlainHTTP(_ registry: String, options: RegistryOptions) -> Bool {
        guard allowsPlainHTTP(registry, options: options) else { return false }
        guard let url = URL(string: "https://\(registry)"), let host = url.host(percentEncoded: false) else { return true }
        let bare = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        return options.trust.hostDirectories(host: bare, port: url.port ?? 443).isEmpty
    }

    /// Loopback registries and those named with --insecure may use plain HTTP.
    static func allowsPlainHTTP(_ registry: String, options: RegistryOptions) -> Bool {
        if options.insecureRegistries.contains(registry) { return true }
        var host = registry
        if host.hasPrefix("["), let close = host.firstIndex(of: "]") {
            host = String(host[host.index(after: host.startIndex)..<close])
        } else if let colon = host.lastIndex(of: ":") {
            host = String(host[..<colon])
        }
        if host == "localhost" || host == "::1" { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }

    func credentials() throws -> Credentials? {
        try auth.withLock { state in
            if let cached = state.cachedCredentials { return cached }
            let found = try options.explicitCredentials ?? options.credentials.credentials(for: registry)
            state.cachedCredentials = .some(found)
            return found
        }
    }

    // MARK: requests

    /// What a request is for: used in errors and to pick the token scope.
    struct Purpose {
        var what: String
        var repository: String
        var scopes: [String]
    }

    func url(_ path: String) -> URL {
        URL(string: path, relativeTo: baseURL)?.absoluteURL ?? baseURL.appendingPathComponent(path)
    }

    /// Sends a request with auth and retries, and maps failures to `RegistryError`.
    /// `accept` lists statuses that are returned rather than thrown (404 for HEAD checks).
    /// Every request but a `bulk` one (blob bodies) has `options.requestDeadline` for each try.
    func send(
        _ method: String, _ target: URL, purpose: Purpose, headers: [String: String] = [:], body: [UInt8]? = nil,
        uploadFile: String? = nil, sink: HTTPClient.Sink? = nil, restart: (() throws -> Void)? = nil,
        attemptHeaders: (() -> [String: String])? = nil, responseCheck: HTTPClient.ResponseCheck? = nil,
        bufferLimit: Int = 1 << 20, accept: Set<Int> = [], bulk: Bool = false
    ) async throws -> HTTPResult {
        var attempt = 0
        var authRetried = false
        let started = ContinuousClock.now
        while true {
            attempt += 1
            var request = HTTPRequest(
                method: method, url: target,
                headers: HTTPHeaders(headers.merging(attemptHeaders?() ?? [:], uniquingKeysWith: { $1 })))
            if let body { request.body = .bytes(body) }
            if let uploadFile { request.body = .file(path: uploadFile) }
            if let authorization = authorization(for: purpose.scopes) {
                request.headers["Authorization"] = authorization
            }
            let result: HTTPResult
            do {
                result = try await transport.send(
                    request, sink: sink, responseCheck: responseCheck, bufferLimit: bufferLimit,
                    deadline: bulk ? nil : deadline)
            } catch HTTPClientError.bodyTooLarge(let limit) {
                throw RegistryError.manifestTooLarge(what: purpose.what, limit: limit)
            } catch let error as HTTPClientError {
                if attempt < options.attempts, error.isTransient {
                    try restart?()
                    try await backoff(attempt)
                    continue
                }
                throw mapTransport(error, purpose: purpose, tries: attempt, since: started)
            }
            if result.status == 401 && !authRetried {
                authRetried = true
                if try await authenticate(result, purpose: purpose) {
                    try restart?()
                    attempt -= 1
                    continue
                }
            }
            if (200..<300).contains(result.status) || accept.contains(result.status) { return result }
            if attempt < options.attempts, result.status == 429 || result.status >= 500 {
                try restart?()
                try await backoff(attempt)
                continue
            }
            throw mapStatus(result, purpose: purpose)
        }
    }

    private func backoff(_ attempt: Int) async throws {
        try await Task.sleep(nanoseconds: UInt64(250_000_000) << UInt64(min(attempt - 1, 4)))
    }

    /// The deadline for small requests, nil when off.
    var deadline: Double? { options.requestDeadline > 0 ? options.requestDeadline : nil }

    /// A transport failure as a registry error; `tries` and the time since `since` go into
    /// timeout messages, so "no data for 30 s" after three tries does not hide the other 60 s.
    func mapTransport(_ error: HTTPClientError, purpose: Purpose, tries: Int = 1, since: ContinuousClock.Instant? = nil) -> RegistryError {
        var elapsed = ""
        if let since {
            let duration = since.duration(to: .now).components
            let seconds = Double(duration.seconds) + Double(duration.attoseconds) / 1e18
            elapsed = ", \(tries) \(tries == 1 ? "try" : "tries") over \(Int(seconds.rounded())) s"
        }
        switch error {
        case .timedOut(let seconds):
            return .timeout(what: purpose.what, registry: registry, detail: "no data for \(formatSeconds(seconds)) s\(elapsed)")
        case .connectTimedOut(_, _, let seconds):
            return .timeout(what: purpose.what, registry: registry, detail: "no connection within \(formatSeconds(seconds)) s\(elapsed)")
        case .tooSlow(let rate, let limit, let seconds):
            return .tooSlow(what: purpose.what, registry: registry, bytesPerSecond: rate, limit: limit, seconds: seconds)
        case .deadlineExceeded(let seconds):
            return .deadlineExceeded(what: purpose.what, registry: registry, seconds: seconds)
        case .connectionRefused:
            return .transport(
                what: purpose.what, registry: registry, detail: "connection refused at \(baseURL.absoluteString): is the registry running?")
        case .certificateUntrusted(let host, let detail):
            return .transport(
                what: purpose.what, registry: registry,
                detail:
                    "the TLS certificate of \(host) is not trusted (\(detail)): if the registry uses a private CA, put its certificate in /etc/skiff/certs.d/\(registry)/ca.crt (or /etc/docker/certs.d/\(registry)/ca.crt)"
            )
        case .tlsFailed:
            return .transport(
                what: purpose.what, registry: registry,
                detail:
                    "\(error); if the registry speaks plain HTTP, pass --insecure; if it wants a client certificate, put client.cert and client.key in /etc/skiff/certs.d/\(registry)/"
            )
        default:
            return .transport(what: purpose.what, registry: registry, detail: error.description)
        }
    }

    func mapStatus(_ result: HTTPResult, purpose: Purpose) -> RegistryError {
        let detail = Self.errorDetail(result.body)
        switch result.status {
        case 401, 403:
            return .unauthorized(
                registry: registry, repository: purpose.repository, detail: "HTTP \(result.status)\(detail.isEmpty ? "" : ": " + detail)")
        case 404:
            return .notFound(what: purpose.what, registry: registry)
        default:
            return .server(status: result.status, what: purpose.what, registry: registry, detail: detail)
        }
    }

    /// The `errors[].message` of a distribution-spec error body, or a short excerpt.
    static func errorDetail(_ bytes: [UInt8]) -> String {
        let body = Data(bytes)
        struct Body: Decodable {
            struct Item: Decodable {
                var code: String?
                var message: String?
            }
            var errors: [Item]?
        }
        if let parsed = try? JSONDecoding.decode(Body.self, from: bytes), let errors = parsed.errors, !errors.isEmpty {
            return errors.map { [$0.code, $0.message].compactMap { $0 }.joined(separator: ": ") }.joined(separator: "; ")
        }
        let text = String(decoding: body.prefix(200), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text
    }

    // MARK: auth

    func authorization(for scopes: [String]) -> String? {
        auth.withLock { state in
            if let token = state.tokens[scopes.joined(separator: " ")] { return "Bearer " + token }
            if state.useBasic, let credentials = state.cachedCredentials ?? nil { return credentials.basicHeader }
            return nil
        }
    }

    /// Answers a 401 challenge; true when a retry is worth it.
    func authenticate(_ result: HTTPResult, purpose: Purpose) async throws -> Bool {
        guard let header = result.header("WWW-Authenticate"), let challenge = AuthChallenge.parse(header) else {
            return false
        }
        let credentials = try credentials()
        switch challenge.scheme {
        case "basic":
            // Each request retries at most once (see `send`), so wrong credentials end in a 401.
            guard credentials != nil else { return false }
            auth.withLock { $0.useBasic = true }
            return true
        case "bearer":
            let token = try await fetchToken(challenge: challenge, scopes: purpose.scopes, credentials: credentials, purpose: purpose)
            auth.withLock { $0.tokens[purpose.scopes.joined(separator: " ")] = token }
            return true
        default:
            throw RegistryError.unauthorized(
                registry: registry, repository: purpose.repository, detail: "unsupported auth scheme '\(challenge.scheme)'")
        }
    }

    func fetchToken(challenge: AuthChallenge, scopes: [String], credentials: Credentials?, purpose: Purpose) async throws -> String {
        guard let realm = challenge.parameters["realm"], var components = URLComponents(string: realm),
            let scheme = components.scheme, scheme == "https" || scheme == "http"
        else {
            throw RegistryError.badResponse(what: "auth challenge from \(registry)", detail: "no usable token realm")
        }
        if scheme == "http", let host = components.host, !Self.allowsPlainHTTP(host, options: options),
            !options.insecureRegistries.contains(registry)
        {
            throw RegistryError.insecureRegistry(host)
        }
        var query = components.queryItems ?? []
        if let service = challenge.parameters["service"] { query.append(URLQueryItem(name: "service", value: service)) }
        let requested = scopes.isEmpty ? (challenge.parameters["scope"].map { [$0] } ?? []) : scopes
        for scope in requested { query.append(URLQueryItem(name: "scope", value: scope)) }
        components.queryItems = query
        guard let url = components.url else {
            throw RegistryError.badResponse(what: "auth challenge from \(registry)", detail: "bad realm \(realm)")
        }
        var request = HTTPRequest(url: url)
        if let credentials { request.headers["Authorization"] = credentials.basicHeader }
        let result: HTTPResult
        do {
            result = try await transport.send(request, bufferLimit: 1 << 20, deadline: deadline)
        } catch let error as HTTPClientError {
            throw mapTransport(error, purpose: Purpose(what: "a token from \(realm)", repository: purpose.repository, scopes: []))
        }
        guard result.status == 200 else {
            throw RegistryError.unauthorized(
                registry: registry, repository: purpose.repository,
                detail:
                    "token server \(realm) answered HTTP \(result.status)\(credentials == nil ? " without credentials" : " for user \(credentials?.username ?? "")")"
            )
        }
        struct TokenResponse: Decodable {
            var token: String?
            var access_token: String?
        }
        guard let parsed = try? JSONDecoding.decode(TokenResponse.self, from: result.body), let token = parsed.token ?? parsed.access_token,
            !token.isEmpty
        else {
            throw RegistryError.badResponse(what: "token from \(realm)", detail: "no token in the answer")
        }
        return token
    }

    /// Checks that the registry answers and the credentials work (`skiff login`).
    public func ping() async throws {
        let purpose = Purpose(what: "login", repository: "", scopes: [])
        _ = try await send("GET", url("/v2/"), purpose: purpose)
    }

    static func pullScope(_ repository: String) -> String { "repository:\(repository):pull" }
    static func pushScope(_ repository: String) -> String { "repository:\(repository):pull,push" }
}

extension RegistryClient {
    /// `https` or `http`: what this client will speak to the registry.
    public var baseURLScheme: String { baseURL.scheme ?? "https" }
}

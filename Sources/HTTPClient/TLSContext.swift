internal import CSSL
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Which certificate authorities a TLS connection trusts: the system store plus, per registry,
/// docker's `certs.d` convention (`<root>/<host:port>/*.crt`; `<root>/<host>/` too on port 443),
/// and which client certificate it presents (`<name>.cert` with `<name>.key` in those directories).
///
/// It exists because private registries are commonly signed by a private CA that users trust
/// for that registry alone, exactly as docker and podman do it.
public struct TrustConfiguration: Sendable, Hashable {
    /// Directory of hashed system CA certificates (Debian's ca-certificates).
    public var systemDirectory: String?
    /// The certs.d roots searched, in order, for per-host CA certificates.
    public var certificateDirectoryRoots: [String]
    /// Directories used for every host, before the certs.d ones (podman's `--cert-dir`).
    public var directories: [String]

    public init(
        systemDirectory: String? = "/etc/ssl/certs",
        certificateDirectoryRoots: [String] = ["/etc/skiff/certs.d", "/etc/docker/certs.d", "/etc/containers/certs.d"],
        directories: [String] = []
    ) {
        self.systemDirectory = systemDirectory
        self.certificateDirectoryRoots = certificateDirectoryRoots
        self.directories = directories
    }

    /// The per-host directories that exist for `host:port` (first match per root).
    public func hostDirectories(host: String, port: Int) -> [String] {
        let name = host.contains(":") ? "[\(host)]" : host
        var names = ["\(name):\(port)"]
        if port == 443 { names.append(name) }
        var found = directories
        for root in certificateDirectoryRoots {
            for candidate in names {
                let path = root + "/" + candidate
                var st = stat()
                if stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR {
                    found.append(path)
                    break
                }
            }
        }
        return found
    }

    /// The extra CA files for `host:port`: every `*.crt` in its certs.d directories.
    public func caFiles(host: String, port: Int) -> [String] {
        files(host: host, port: port, suffix: ".crt")
    }

    /// The client certificate for `host:port`: the first `*.cert` that has a `*.key` beside it.
    public func clientCertificate(host: String, port: Int) -> (certificate: String, key: String)? {
        for certificate in files(host: host, port: port, suffix: ".cert") {
            let key = String(certificate.dropLast(".cert".count)) + ".key"
            if access(key, R_OK) == 0 { return (certificate, key) }
        }
        return nil
    }

    private func files(host: String, port: Int, suffix: String) -> [String] {
        var files: [String] = []
        for directory in hostDirectories(host: host, port: port) {
            guard let dir = opendir(directory) else { continue }
            defer { closedir(dir) }
            var names: [String] = []
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
                if name.hasSuffix(suffix) { names.append(name) }
            }
            files += names.sorted().map { directory + "/" + $0 }
        }
        return files
    }
}

/// An OpenSSL client context for one set of trusted CAs, shared by every connection that
/// trusts the same set (contexts are thread-safe once configured).
/// Unchecked Sendable: the SSL_CTX is configured in `make` before anyone else sees it and then
/// only used to create sessions, which OpenSSL allows from any thread.
final class TLSContext: @unchecked Sendable {
    let context: OpaquePointer

    private init(context: OpaquePointer) { self.context = context }

    private static let cache = Mutex<[String: TLSContext]>([:])

    /// The context trusting the system store and `caFiles` (and presenting `client`), built once
    /// per distinct set.
    static func shared(systemDirectory: String?, caFiles: [String], client: (certificate: String, key: String)?, host: String) throws
        -> TLSContext
    {
        let key = ([systemDirectory ?? ""] + caFiles + [client?.certificate ?? "", client?.key ?? ""]).joined(separator: "\n")
        return try cache.withLock { cache in
            if let cached = cache[key] { return cached }
            let made = try make(systemDirectory: systemDirectory, caFiles: caFiles, client: client, host: host)
            cache[key] = made
            return made
        }
    }

    private static func make(systemDirectory: String?, caFiles: [String], client: (certificate: String, key: String)?, host: String) throws
        -> TLSContext
    {
        ERR_clear_error()
        guard let context = SSL_CTX_new(TLS_client_method()) else {
            throw HTTPClientError.tlsFailed(host: host, detail: "cannot create a TLS context: \(openSSLErrors())")
        }
        SSL_CTX_ctrl(context, SSL_CTRL_SET_MIN_PROTO_VERSION, Int(TLS1_2_VERSION), nil)
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        var alpn: [UInt8] = [8] + Array("http/1.1".utf8)
        SSL_CTX_set_alpn_protos(context, &alpn, UInt32(alpn.count))
        if let systemDirectory, access(systemDirectory, R_OK) == 0 {
            SSL_CTX_load_verify_locations(context, nil, systemDirectory)
        }
        for file in caFiles {
            guard SSL_CTX_load_verify_locations(context, file, nil) == 1 else {
                let detail = openSSLErrors()
                SSL_CTX_free(context)
                throw HTTPClientError.tlsFailed(host: host, detail: "cannot load CA certificate \(file) (\(detail)): it must be PEM")
            }
        }
        if let client {
            guard SSL_CTX_use_certificate_chain_file(context, client.certificate) == 1,
                SSL_CTX_use_PrivateKey_file(context, client.key, SSL_FILETYPE_PEM) == 1,
                SSL_CTX_check_private_key(context) == 1
            else {
                let detail = openSSLErrors()
                SSL_CTX_free(context)
                throw HTTPClientError.tlsFailed(
                    host: host,
                    detail:
                        "cannot use client certificate \(client.certificate) with key \(client.key) (\(detail)): both must be PEM and belong together"
                )
            }
        }
        ERR_clear_error()
        return TLSContext(context: context)
    }
}

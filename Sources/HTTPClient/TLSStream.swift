internal import CSSL
#if canImport(Glibc)
import Glibc
#endif
import LinuxSupport

/// A TLS session (OpenSSL's libssl) over a connected `TCPStream`, verifying the server's
/// certificate chain against the trust store and its name (DNS name with SNI, or IP address).
///
/// It exists so registries are reached over HTTPS without FoundationNetworking: the handshake
/// refuses untrusted or mismatched certificates with an error that says which and why.
/// Unchecked Sendable: one request's thread uses the session at a time (a connection is checked
/// out of the pool by one request); only `tcp.abort()`, itself locked, comes from other threads.
final class TLSStream: ByteStream, @unchecked Sendable {
    let tcp: TCPStream
    let name: String
    private let ssl: OpaquePointer
    private var freed = false

    /// `host` is verified against the certificate; `name` (host:port) is what errors show.
    init(tcp: TCPStream, host: String, name: String, context: TLSContext) throws {
        guard let ssl = SSL_new(context.context) else {
            throw HTTPClientError.tlsFailed(host: name, detail: "cannot create a TLS session: \(openSSLErrors())")
        }
        self.tcp = tcp
        self.name = name
        self.ssl = ssl
        SSL_set_fd(ssl, tcp.fd)
        if isIPAddress(host) {
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host)
        } else {
            _ = host.withCString { name in
                SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, Int(TLSEXT_NAMETYPE_host_name), UnsafeMutableRawPointer(mutating: name))
            }
            SSL_set_hostflags(ssl, UInt32(X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS))
            guard SSL_set1_host(ssl, host) == 1 else {
                SSL_free(ssl)
                throw HTTPClientError.tlsFailed(host: name, detail: "cannot set the expected host name")
            }
        }
        ERR_clear_error()
        let result = SSL_connect(ssl)
        if result != 1 {
            let error = handshakeError(result, host: name)
            SSL_free(ssl)
            freed = true
            throw error
        }
    }

    deinit { close() }

    private func handshakeError(_ result: Int32, host: String) -> HTTPClientError {
        let code = SSL_get_error(ssl, result)
        let savedErrno = errno
        let verify = SSL_get_verify_result(ssl)
        if verify != Int(X509_V_OK) {
            return .certificateUntrusted(host: host, detail: String(cString: X509_verify_cert_error_string(verify)))
        }
        let queued = openSSLErrors()
        switch code {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
            return .timedOut(seconds: tcp.idleTimeout)
        case SSL_ERROR_SYSCALL where queued.isEmpty:
            if savedErrno == EAGAIN || savedErrno == EWOULDBLOCK { return .timedOut(seconds: tcp.idleTimeout) }
            return .tlsFailed(
                host: host,
                detail: result == 0 || savedErrno == 0
                    ? "the server closed the connection during the handshake (does it speak TLS?)"
                    : SystemError.message(errno: savedErrno))
        default:
            return .tlsFailed(host: host, detail: queued.isEmpty ? "error \(code)" : queued)
        }
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        ERR_clear_error()
        let n = SSL_read(ssl, buffer.baseAddress, Int32(min(buffer.count, Int(Int32.max))))
        if n > 0 { return Int(n) }
        let savedErrno = errno
        switch SSL_get_error(ssl, n) {
        case SSL_ERROR_ZERO_RETURN:
            return 0
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
            throw tcp.ioError(EAGAIN, "TLS receive")
        case SSL_ERROR_SYSCALL:
            let queued = openSSLErrors()
            if savedErrno != 0 { throw tcp.ioError(savedErrno, "TLS receive") }
            if queued.isEmpty { return 0 }  // closed without close_notify: framing decides
            throw HTTPClientError.connectionClosed(detail: "(\(queued))")
        default:
            // An alert from the server (a refused client certificate arrives here with TLS 1.3).
            throw HTTPClientError.tlsFailed(host: name, detail: "the server ended the session (\(openSSLErrors()))")
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            ERR_clear_error()
            let n = SSL_write(ssl, bytes.baseAddress.map { $0 + offset }, Int32(min(bytes.count - offset, Int(Int32.max))))
            if n > 0 {
                offset += Int(n)
                continue
            }
            let savedErrno = errno
            switch SSL_get_error(ssl, n) {
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
                throw tcp.ioError(EAGAIN, "TLS send")
            case SSL_ERROR_SYSCALL where savedErrno != 0:
                throw tcp.ioError(savedErrno, "TLS send")
            default:
                throw HTTPClientError.connectionClosed(detail: "while sending (\(openSSLErrors()))")
            }
        }
    }

    /// Frees the session and closes the socket. No close_notify: the peer may be gone, and a
    /// write to it must not raise SIGPIPE in whatever thread drops the last connection.
    func close() {
        if !freed {
            freed = true
            SSL_free(ssl)
        }
        tcp.close()
    }
}

/// Drains OpenSSL's error queue of this thread into one line.
func openSSLErrors() -> String {
    var messages: [String] = []
    while true {
        let code = ERR_get_error()
        if code == 0 { break }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        messages.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
    return messages.joined(separator: "; ")
}

/// Whether `host` is an IPv4 or IPv6 literal (verified as an IP SAN, sent without SNI).
func isIPAddress(_ host: String) -> Bool {
    var v4 = in_addr()
    var v6 = in6_addr()
    return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
}

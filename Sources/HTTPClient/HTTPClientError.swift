/// Every way an HTTP exchange can fail below the level of HTTP statuses, each saying what went
/// wrong and what to check. `isTransient` tells callers which failures are worth another attempt.
public enum HTTPClientError: Error, CustomStringConvertible, Sendable, Equatable {
    case invalidURL(String)
    case unsupportedScheme(String)
    case resolveFailed(host: String, detail: String)
    case connectionRefused(host: String, port: Int)
    case connectFailed(host: String, port: Int, detail: String)
    case connectTimedOut(host: String, port: Int, seconds: Double)
    case timedOut(seconds: Double)
    /// The transfer stayed below `limit` bytes/s for `seconds` (it measured `bytesPerSecond`).
    case tooSlow(bytesPerSecond: Double, limit: Int, seconds: Double)
    /// The whole exchange (connect, redirects, body) took longer than `seconds`.
    case deadlineExceeded(seconds: Double)
    case connectionClosed(detail: String)
    case tlsFailed(host: String, detail: String)
    case certificateUntrusted(host: String, detail: String)
    case malformedResponse(String)
    case invalidRequest(String)
    case tooManyRedirects(limit: Int)
    case badRedirect(location: String)
    case bodyTooLarge(limit: Int)
    case proxyFailed(proxy: String, detail: String)
    case ioFailed(operation: String, detail: String)
    case cancelled

    public var description: String {
        switch self {
        case .invalidURL(let url):
            return "'\(url)' is not a usable http or https URL"
        case .unsupportedScheme(let scheme):
            return "URL scheme '\(scheme)' is not supported: use http or https"
        case .resolveFailed(let host, let detail):
            return "cannot resolve host '\(host)' (\(detail)): check the name and DNS"
        case .connectionRefused(let host, let port):
            return "connection refused by \(host):\(port)"
        case .connectFailed(let host, let port, let detail):
            return "cannot connect to \(host):\(port): \(detail)"
        case .connectTimedOut(let host, let port, let seconds):
            return "no connection to \(host):\(port) within \(formatSeconds(seconds)) s"
        case .timedOut(let seconds):
            return "no data for \(formatSeconds(seconds)) s"
        case .tooSlow(let rate, let limit, let seconds):
            return
                "transfer at \(formatRate(rate)) over \(formatSeconds(seconds)) s, below the low-speed limit of \(formatRate(Double(limit)))"
        case .deadlineExceeded(let seconds):
            return "not finished within \(formatSeconds(seconds)) s"
        case .connectionClosed(let detail):
            return "the server closed the connection \(detail)"
        case .tlsFailed(let host, let detail):
            return "TLS handshake with \(host) failed: \(detail)"
        case .certificateUntrusted(let host, let detail):
            return "the TLS certificate of \(host) is not trusted (\(detail))"
        case .malformedResponse(let detail):
            return "malformed HTTP response: \(detail)"
        case .invalidRequest(let detail):
            return "invalid HTTP request: \(detail)"
        case .tooManyRedirects(let limit):
            return "more than \(limit) redirects"
        case .badRedirect(let location):
            return "redirect to an unusable location '\(location)'"
        case .bodyTooLarge(let limit):
            return "response body larger than \(limit) bytes"
        case .proxyFailed(let proxy, let detail):
            return "proxy \(proxy) failed: \(detail)"
        case .ioFailed(let operation, let detail):
            return "\(operation) failed: \(detail)"
        case .cancelled:
            return "the request was cancelled"
        }
    }

    /// Failures another attempt may get past: timeouts, refused or dropped connections. A transfer
    /// that was too slow or overran its deadline is not retried: the limits bound the request as
    /// the user asked, and three more tries would triple the wait.
    public var isTransient: Bool {
        switch self {
        case .connectionRefused, .connectFailed, .connectTimedOut, .timedOut, .connectionClosed, .ioFailed, .resolveFailed:
            return true
        default:
            return false
        }
    }
}

public func formatSeconds(_ seconds: Double) -> String {
    guard seconds.isFinite, abs(seconds) < 1e15 else { return String(seconds) }
    return seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
}

/// A transfer rate for messages: "3 B/s", "1.5 KiB/s", "12.3 MiB/s".
public func formatRate(_ bytesPerSecond: Double) -> String {
    guard bytesPerSecond.isFinite, bytesPerSecond >= 0 else { return "\(bytesPerSecond) B/s" }
    if bytesPerSecond < 1024 {
        return bytesPerSecond < 10 && bytesPerSecond != bytesPerSecond.rounded()
            ? "\((bytesPerSecond * 10).rounded() / 10) B/s" : "\(Int(bytesPerSecond.rounded())) B/s"
    }
    var value = bytesPerSecond / 1024
    var unit = "KiB/s"
    for next in ["MiB/s", "GiB/s"] where value >= 1024 {
        value /= 1024
        unit = next
    }
    let rounded = (value * 10).rounded() / 10
    return (rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)) + " " + unit
}

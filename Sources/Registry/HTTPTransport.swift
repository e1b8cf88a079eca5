import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One HTTP exchange's outcome: the status, headers and (for small bodies) the body.
public struct HTTPResult: Sendable {
    public var status: Int
    public var headers: [String: String]
    public var body: Data
    public var url: URL?

    /// A header by case-insensitive name.
    public func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.key.lowercased() == lower }?.value
    }
}

/// Streams HTTP bodies over FoundationNetworking's URLSession, so blobs go straight to disk
/// (and through the hasher) as they arrive instead of being buffered whole.
///
/// It exists to give the registry client one primitive, `send`, with a per-request body sink,
/// an idle timeout, a cap on buffered bodies, and redirects that drop credentials when they
/// leave the registry's host (blob storage must not see the registry token).
final class HTTPTransport: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    private var session: URLSession!
    private let lock = NSLock()
    private var exchanges: [Int: Exchange] = [:]
    let timeout: Double

    /// Per-request state, touched only on the session's serial delegate queue (and at creation).
    final class Exchange: @unchecked Sendable {
        let sink: ((Data) throws -> Void)?
        let responseCheck: ((HTTPURLResponse) throws -> Void)?
        let bufferLimit: Int
        var response: HTTPURLResponse?
        var challengeResponse: HTTPURLResponse?
        var buffer = Data()
        var failure: Error?
        var continuation: CheckedContinuation<HTTPResult, Error>?

        init(sink: ((Data) throws -> Void)?, responseCheck: ((HTTPURLResponse) throws -> Void)?, bufferLimit: Int) {
            self.sink = sink
            self.responseCheck = responseCheck
            self.bufferLimit = bufferLimit
        }
    }

    /// Thrown when a buffered body grows beyond its limit.
    struct BodyTooLarge: Error { let limit: Int }

    init(timeout: Double) {
        self.timeout = timeout
        super.init()
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.timeoutIntervalForResource = 24 * 3600
        configuration.httpMaximumConnectionsPerHost = 8
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.urlCache = nil
        configuration.httpCookieStorage = nil
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        session = URLSession(configuration: configuration, delegate: self, delegateQueue: queue)
    }

    func invalidate() { session.invalidateAndCancel() }

    /// Sends `request`. A 2xx body goes to `sink` when given (after `responseCheck` has seen the
    /// 2xx response head); otherwise, and for every non-2xx answer, up to `bufferLimit` bytes are
    /// kept in the result.
    func send(_ request: URLRequest, uploadFile: URL? = nil, sink: ((Data) throws -> Void)? = nil,
              responseCheck: ((HTTPURLResponse) throws -> Void)? = nil, bufferLimit: Int = 1 << 20) async throws -> HTTPResult {
        let exchange = Exchange(sink: sink, responseCheck: responseCheck, bufferLimit: bufferLimit)
        let task: URLSessionTask
        if let uploadFile {
            task = session.uploadTask(with: request, fromFile: uploadFile)
        } else {
            task = session.dataTask(with: request)
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                exchange.continuation = continuation
                lock.lock()
                exchanges[task.taskIdentifier] = exchange
                lock.unlock()
                task.resume()
            }
        } onCancel: {
            task.cancel()
        }
    }

    private func exchange(for task: URLSessionTask) -> Exchange? {
        lock.lock()
        defer { lock.unlock() }
        return exchanges[task.taskIdentifier]
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        guard let exchange = exchange(for: dataTask) else { return completionHandler(.allow) }
        let http = response as? HTTPURLResponse
        exchange.response = http
        if let http, (200..<300).contains(http.statusCode), let check = exchange.responseCheck {
            do {
                try check(http)
            } catch {
                exchange.failure = error
                return completionHandler(.cancel)
            }
        }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        guard let exchange = exchange(for: dataTask), exchange.failure == nil else { return }
        let status = exchange.response?.statusCode ?? 0
        do {
            if (200..<300).contains(status), let sink = exchange.sink {
                try sink(data)
            } else {
                guard exchange.buffer.count + data.count <= exchange.bufferLimit else {
                    throw BodyTooLarge(limit: exchange.bufferLimit)
                }
                exchange.buffer.append(data)
            }
        } catch {
            exchange.failure = error
            dataTask.cancel()
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        lock.lock()
        let exchange = exchanges.removeValue(forKey: task.taskIdentifier)
        lock.unlock()
        guard let exchange, let continuation = exchange.continuation else { return }
        exchange.continuation = nil
        if let failure = exchange.failure {
            continuation.resume(throwing: failure)
        } else if let response = exchange.challengeResponse {
            continuation.resume(returning: Self.result(response, body: exchange.buffer))
        } else if let error {
            continuation.resume(throwing: error)
        } else if let response = exchange.response {
            continuation.resume(returning: Self.result(response, body: exchange.buffer))
        } else {
            continuation.resume(throwing: URLError(.badServerResponse))
        }
    }

    static func result(_ response: HTTPURLResponse, body: Data) -> HTTPResult {
        var headers: [String: String] = [:]
        for (key, value) in response.allHeaderFields {
            if let key = key as? String, let value = value as? String { headers[key] = value }
        }
        return HTTPResult(status: response.statusCode, headers: headers, body: body, url: response.url)
    }

    /// Registry auth is answered by `RegistryClient` from the 401 response itself, never by the
    /// URL loading system. FoundationNetworking on Linux stops a task at a 401 challenge (and
    /// waits forever when it has no credentials, swift-corelibs-foundation#5456), so keep the
    /// 401 response, cancel the challenge, and report the 401 as the answer.
    func urlSession(_ session: URLSession, task: URLSessionTask, didReceive challenge: URLAuthenticationChallenge,
                    completionHandler: @escaping (URLSession.AuthChallengeDisposition, URLCredential?) -> Void) {
        if let exchange = exchange(for: task), let response = challenge.failureResponse as? HTTPURLResponse {
            exchange.challengeResponse = response
        }
        completionHandler(.cancelAuthenticationChallenge, nil)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        var redirected = request
        if request.url?.host != task.originalRequest?.url?.host || request.url?.port != task.originalRequest?.url?.port {
            redirected.setValue(nil, forHTTPHeaderField: "Authorization")
        }
        completionHandler(redirected)
    }
}

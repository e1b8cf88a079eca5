#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Dispatch
import HTTPClient
import ImageStore
import LinuxSupport
import OCISpec
import Synchronization

/// ADD of an http(s) URL: the one URL the Dockerfile names is fetched (no other request is
/// made), into a scratch file, with its SHA-256 for the step's cache key (so changed content
/// reruns the step, as docker fetches to compare) and checked against `--checksum` when given.
enum AddURL {
    struct Fetched {
        var path: String
        var digest: Digest
        /// The file name docker gives it: the URL path's last component.
        var name: String
    }

    static func isURL(_ source: String) -> Bool {
        source.hasPrefix("http://") || source.hasPrefix("https://")
    }

    /// Fetches `source` into `directory` (a scratch directory of the step).
    static func fetch(_ source: String, into directory: String, checksum: String?, location: SourceLocation) throws -> Fetched {
        guard let url = URL(string: source), let host = url.host, !host.isEmpty else {
            throw ImageBuilder.Failure("\(location): ADD \(source): not a URL skiff can fetch")
        }
        var name = url.lastPathComponent
        if name.isEmpty || name == "/" { name = "download" }
        let path = directory + "/url-\(UInt32.random(in: 0...UInt32.max))"
        let file = try OwnedFD("create \(path)") { open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600) }
        let hasher = SHA256Hasher()
        let fd = file.raw
        let sink: HTTPClient.Sink = { bytes in
            hasher.update(bytes)
            try FileIO.writeAll(fd: fd, Array(bytes), what: path)
        }
        let outcome = Mutex<Result<HTTPResult, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        let request = HTTPRequest(url: url)
        let work = UnsafeSink(sink)
        Task {
            let client = HTTPClient()
            defer { client.shutdown() }
            do {
                let result = try await client.send(request, sink: work.sink, deadline: 600)
                outcome.withLock { $0 = .success(result) }
            } catch {
                outcome.withLock { $0 = .failure(error) }
            }
            done.signal()
        }
        done.wait()
        let result: HTTPResult
        do {
            guard let finished = outcome.withLock({ $0 }) else { throw ImageBuilder.Failure("no answer") }
            result = try finished.get()
        } catch {
            throw ImageBuilder.Failure("\(location): ADD \(source): the download failed: \(error)")
        }
        guard (200..<300).contains(result.status) else {
            throw ImageBuilder.Failure("\(location): ADD \(source): the server answered HTTP \(result.status)")
        }
        let digest = hasher.finalize()
        if let checksum, checksum != digest.description {
            throw ImageBuilder.Failure(
                "\(location): ADD \(source): the content's digest is \(digest), not the --checksum \(checksum)")
        }
        return Fetched(path: path, digest: digest, name: name)
    }

    /// The sink crosses into the client's task; it is used by that one transfer only, while
    /// the caller waits for it.
    struct UnsafeSink: @unchecked Sendable {
        let sink: HTTPClient.Sink
        init(_ sink: @escaping HTTPClient.Sink) { self.sink = sink }
    }
}

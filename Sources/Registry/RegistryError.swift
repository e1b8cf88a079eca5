import HTTPClient
import OCISpec

/// Everything a registry conversation can end in, each naming the image and what to do.
public enum RegistryError: Error, CustomStringConvertible, Sendable {
    case unauthorized(registry: String, repository: String, detail: String)
    case notFound(what: String, registry: String)
    case server(status: Int, what: String, registry: String, detail: String)
    /// The idle timeout (or the connect timeout) ended every try; `detail` says how long and how often.
    case timeout(what: String, registry: String, detail: String)
    /// A transfer averaged below the low-speed limit for its whole window.
    case tooSlow(what: String, registry: String, bytesPerSecond: Double, limit: Int, seconds: Double)
    /// A small request (manifest, token) was not done within the request deadline.
    case deadlineExceeded(what: String, registry: String, seconds: Double)
    case transport(what: String, registry: String, detail: String)
    case insecureRegistry(String)
    case manifestTooLarge(what: String, limit: Int)
    case badResponse(what: String, detail: String)
    case noMatchingPlatform(image: String, wanted: Platform, available: [Platform])
    case unsupported(image: String, detail: String)

    public var description: String {
        switch self {
        case .unauthorized(let registry, let repository, let detail):
            return
                "access to \(registry)/\(repository) denied (\(detail)): check the name, and log in with 'skiff login \(registry)' if the repository is private"
        case .notFound(let what, let registry):
            return "\(what) not found in registry \(registry): check the name and tag"
        case .server(let status, let what, let registry, let detail):
            return "registry \(registry) failed with HTTP \(status) for \(what)\(detail.isEmpty ? "" : ": \(detail)"): try again later"
        case .timeout(let what, let registry, let detail):
            return "registry \(registry) did not answer for \(what) (\(detail)): check that it is up, or raise --timeout"
        case .tooSlow(let what, let registry, let rate, let limit, let seconds):
            return
                "registry \(registry) sent \(what) at \(formatRate(rate)) over the last \(formatSeconds(seconds)) s, below the low-speed limit of \(formatRate(Double(limit))): "
                + "check the network and the registry; for a link this slow, lower --low-speed-limit or raise --low-speed-time (0 turns the check off)"
        case .deadlineExceeded(let what, let registry, let seconds):
            return "registry \(registry) did not finish sending \(what) within \(formatSeconds(seconds)) s: "
                + "it is overloaded or misbehaving; try again later, or raise --request-deadline (0 turns it off)"
        case .transport(let what, let registry, let detail):
            return "cannot reach registry \(registry) for \(what): \(detail)"
        case .insecureRegistry(let registry):
            return
                "registry \(registry) would be contacted over plain HTTP: only localhost is allowed that by default; pass --insecure if you trust the network"
        case .manifestTooLarge(let what, let limit):
            return "\(what) is larger than \(limit / 1024 / 1024) MiB, more than any sane manifest: refusing it"
        case .badResponse(let what, let detail):
            return "unexpected answer for \(what): \(detail)"
        case .noMatchingPlatform(let image, let wanted, let available):
            return
                "image \(image) has no variant for \(wanted); it offers \(available.map(\.description).joined(separator: ", ")): choose one with --platform"
        case .unsupported(let image, let detail):
            return "image \(image) cannot be used: \(detail)"
        }
    }
}

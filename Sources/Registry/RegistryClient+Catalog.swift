import Foundation
import JSON

/// `GET /v2/_catalog`: the repositories a registry lists (`skiff search`), page by page through
/// its `Link` headers. Bounded: a registry that pages without end or sends names that are not
/// repository names gets an error, not our memory.
extension RegistryClient {
    /// What `catalog` returns: the names, or nil when the registry serves no catalog (404, or
    /// 401/403 for a catalog it keeps to itself).
    public func catalog(maxNames: Int = 100_000) async throws -> [String]? {
        struct Page: Decodable { var repositories: [String]? }
        let purpose = Purpose(what: "the catalog", repository: "", scopes: ["registry:catalog:*"])
        var names: [String] = []
        var next: String? = "/v2/_catalog?n=1000"
        var pages = 0
        while let path = next {
            pages += 1
            guard pages <= 1000 else {
                throw RegistryError.badResponse(what: "catalog of \(registry)", detail: "more than 1000 pages")
            }
            let result = try await send("GET", url(path), purpose: purpose, bufferLimit: 8 << 20, accept: [401, 403, 404, 405])
            guard (200..<300).contains(result.status) else { return nil }
            guard let page = try? JSONDecoding.decode(Page.self, from: result.body), let repositories = page.repositories else {
                throw RegistryError.badResponse(what: "catalog of \(registry)", detail: "not a catalog ({\"repositories\": [...]})")
            }
            for name in repositories {
                guard Self.isRepositoryName(name) else {
                    throw RegistryError.badResponse(
                        what: "catalog of \(registry)", detail: "'\(name.prefix(100))' is not a repository name")
                }
                names.append(name)
            }
            guard names.count <= maxNames else {
                throw RegistryError.badResponse(what: "catalog of \(registry)", detail: "more than \(maxNames) repositories")
            }
            next = Self.nextPage(result.header("Link"))
            if repositories.isEmpty { next = nil }
        }
        return names
    }

    /// The distribution spec's repository name: lowercase path components of [a-z0-9] joined
    /// by `.`, `_`, `__` or `-` runs, separated by `/`, at most 255 characters.
    static func isRepositoryName(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 255 else { return false }
        return name.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { component in
            guard let first = component.first, let last = component.last, first.isLetter || first.isNumber,
                last.isLetter || last.isNumber
            else { return false }
            return component.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || "._-".contains($0) }
        }
    }

    /// `Link: </v2/_catalog?last=x&n=1000>; rel="next"`: the path of the next page, only on
    /// this registry (a link elsewhere is ignored).
    static func nextPage(_ header: String?) -> String? {
        guard let header, header.contains("rel=\"next\""), let open = header.firstIndex(of: "<"),
            let close = header[open...].firstIndex(of: ">")
        else { return nil }
        let target = String(header[header.index(after: open)..<close])
        guard target.hasPrefix("/v2/_catalog") else { return nil }
        return target
    }
}

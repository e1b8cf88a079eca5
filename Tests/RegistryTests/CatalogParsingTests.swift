import Testing

@testable import Registry

/// What `search` accepts from a registry's catalog: repository names only, and next pages on the
/// same registry's catalog only.
@Suite struct CatalogParsingTests {
    @Test func repositoryNames() {
        for good in ["busybox", "library/busybox", "a/b-c/d_e.f", "x__y", "0abc"] {
            #expect(RegistryClient.isRepositoryName(good), "\(good)")
        }
        for bad in ["", "Busybox", "a//b", "/a", "a/", "-a", "a-", "a b", "a\u{1b}[2J", String(repeating: "a", count: 256), "é"] {
            #expect(!RegistryClient.isRepositoryName(bad), "\(bad)")
        }
    }

    @Test func nextPageLinks() {
        #expect(RegistryClient.nextPage(#"</v2/_catalog?last=b&n=1000>; rel="next""#) == "/v2/_catalog?last=b&n=1000")
        #expect(RegistryClient.nextPage(#"<https://elsewhere.example/v2/_catalog?last=b>; rel="next""#) == nil)
        #expect(RegistryClient.nextPage(#"</v2/other>; rel="next""#) == nil)
        #expect(RegistryClient.nextPage(#"</v2/_catalog?last=b>; rel="prev""#) == nil)
        #expect(RegistryClient.nextPage(nil) == nil)
    }
}

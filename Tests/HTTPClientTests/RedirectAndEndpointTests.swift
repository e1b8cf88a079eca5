import Foundation
import Testing
@testable import HTTPClient

/// Where redirects go and what they carry, how URLs become connections, and which hosts
/// bypass a proxy.
@Suite struct RedirectAndEndpointTests {
    func request(_ url: String, method: String = "GET", body: HTTPRequestBody = .none) throws -> HTTPRequest {
        var request = HTTPRequest(method: method, url: try #require(URL(string: url)), body: body)
        request.headers["Authorization"] = "Bearer secret"
        request.headers["Content-Type"] = "application/octet-stream"
        return request
    }

    @Test func relativeRedirectsStayOnTheHostWithCredentials() throws {
        let next = try HTTPClient.redirect(try request("http://127.0.0.1:5000/v2/a/blobs/x"), status: 307, location: "/storage/blob?sig=1")
        #expect(next.url.absoluteString == "http://127.0.0.1:5000/storage/blob?sig=1")
        #expect(next.headers["Authorization"] == "Bearer secret")
        let sibling = try HTTPClient.redirect(try request("http://127.0.0.1:5000/v2/a/blobs/x"), status: 302, location: "y")
        #expect(sibling.url.absoluteString == "http://127.0.0.1:5000/v2/a/blobs/y")
    }

    @Test func redirectsOffTheHostDropCredentials() throws {
        for location in ["http://127.0.0.2:5000/storage/x", "http://127.0.0.1:5001/storage/x", "https://127.0.0.1:5000/storage/x"] {
            let next = try HTTPClient.redirect(try request("http://127.0.0.1:5000/v2/a/blobs/x"), status: 307, location: location)
            #expect(next.url.absoluteString == location)
            #expect(next.headers["Authorization"] == nil, "\(location)")
        }
    }

    @Test func seeOtherBecomesABodylessGet() throws {
        let next = try HTTPClient.redirect(
            try request("http://h/upload", method: "PUT", body: .bytes([1, 2, 3])), status: 303, location: "/done")
        #expect(next.method == "GET")
        if case .none = next.body {} else { Issue.record("the body must be dropped") }
        #expect(next.headers["Content-Type"] == nil)
        let kept = try HTTPClient.redirect(
            try request("http://h/upload", method: "PUT", body: .bytes([1, 2, 3])), status: 307, location: "/other")
        #expect(kept.method == "PUT")
        if case .bytes(let bytes) = kept.body { #expect(bytes == [1, 2, 3]) } else { Issue.record("307 keeps the body") }
        let post = try HTTPClient.redirect(try request("http://h/a", method: "POST", body: .bytes([1])), status: 302, location: "/b")
        #expect(post.method == "GET")
    }

    @Test func refusesUnusableRedirects() throws {
        for location in ["ftp://h/x", "file:///etc/passwd", "http://"] {
            #expect(throws: HTTPClientError.self, "\(location)") {
                try HTTPClient.redirect(try request("http://h/a"), status: 302, location: location)
            }
        }
        let streamed = try request("http://h/a", method: "PUT", body: .stream { nil })
        #expect(throws: HTTPClientError.self) { try HTTPClient.redirect(streamed, status: 307, location: "/b") }
    }

    @Test func endpointsFromURLs() throws {
        let plain = try Endpoint(try #require(URL(string: "http://127.0.0.1/v2/")))
        #expect(plain.port == 80 && !plain.secure && plain.hostHeader == "127.0.0.1" && plain.authority == "127.0.0.1:80")
        let tls = try Endpoint(try #require(URL(string: "https://registry.example.com:5000/v2/")))
        #expect(tls.port == 5000 && tls.secure && tls.hostHeader == "registry.example.com:5000")
        let v6 = try Endpoint(try #require(URL(string: "https://[::1]:5443/v2/")))
        #expect(v6.host == "::1" && v6.hostHeader == "[::1]:5443" && v6.authority == "[::1]:5443")
        #expect(throws: HTTPClientError.self) { try Endpoint(try #require(URL(string: "ftp://h/x"))) }
        #expect(try #require(URL(string: "http://h")).requestTarget == "/")
        #expect(try #require(URL(string: "http://h/a%20b?x=1&y=%2F")).requestTarget == "/a%20b?x=1&y=%2F")
    }

    @Test func proxyBypassRules() throws {
        let proxy = ProxyConfiguration(
            httpProxy: URL(string: "http://proxy:3128"), httpsProxy: URL(string: "http://proxy:3128"),
            noProxy: ["internal.example", ".corp.example", "registry.example:5000", "10.1.2.3"])
        func goes(_ host: String, _ port: Int = 443) -> Bool { proxy.proxy(for: Endpoint(secure: true, host: host, port: port)) != nil }
        #expect(goes("registry-1.docker.io"))
        #expect(!goes("127.0.0.1"))
        #expect(!goes("localhost"))
        #expect(!goes("::1"))
        #expect(!goes("internal.example"))
        #expect(!goes("a.internal.example"))
        #expect(!goes("x.corp.example"))
        #expect(!goes("corp.example"))
        #expect(goes("notinternal.example"))
        #expect(!goes("registry.example", 5000))
        #expect(goes("registry.example", 5001))
        #expect(!goes("10.1.2.3"))
        let ranges = ProxyConfiguration(
            httpsProxy: URL(string: "http://proxy:3128"), noProxy: ["10.0.0.0/8", "192.168.1.128/25", "fd00::/8", "bad/99"])
        func rangeGoes(_ host: String) -> Bool { ranges.proxy(for: Endpoint(secure: true, host: host, port: 443)) != nil }
        #expect(!rangeGoes("10.200.3.4"))
        #expect(rangeGoes("11.0.0.1"))
        #expect(!rangeGoes("192.168.1.200"))
        #expect(rangeGoes("192.168.1.100"))
        #expect(!rangeGoes("fd12::1"))
        #expect(rangeGoes("fe80::1"))
        #expect(rangeGoes("registry.example"))
        let all = ProxyConfiguration(httpsProxy: URL(string: "http://proxy:3128"), noProxy: ["*"])
        #expect(all.proxy(for: Endpoint(secure: true, host: "anything", port: 443)) == nil)
        #expect(ProxyConfiguration.none.proxy(for: Endpoint(secure: true, host: "anything", port: 443)) == nil)
    }

    @Test func headersAreCaseInsensitive() {
        var headers: HTTPHeaders = ["Content-Type": "a"]
        #expect(headers["content-type"] == "a")
        headers["CONTENT-TYPE"] = "b"
        #expect(headers.count == 1 && headers["Content-Type"] == "b")
        headers.add("Connection", "keep-alive, Upgrade")
        #expect(headers.hasToken("connection", "upgrade"))
        headers["content-type"] = nil
        #expect(!headers.contains("Content-Type"))
    }
}

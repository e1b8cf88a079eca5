import Testing
@testable import HTTPClient

/// The HTTP/1.1 framing rules, fed from memory in slices of every size a socket could deliver.
@Suite struct HTTPWireTests {
    func reader(_ text: String, slice: Int = .max) -> BufferedReader {
        BufferedReader(stream: MemoryStream(text, sliceSize: slice), capacity: 1024)
    }

    func body(_ text: String, framing: HTTPWire.Framing, slice: Int = .max) throws -> String {
        var out: [UInt8] = []
        try HTTPWire.readBody(reader(text, slice: slice), framing: framing) { out.append(contentsOf: $0) }
        return String(decoding: out, as: UTF8.self)
    }

    @Test func parsesStatusLines() throws {
        let ok = try HTTPWire.parseStatusLine("HTTP/1.1 200 OK")
        #expect(ok.version == "HTTP/1.1" && ok.status == 200 && ok.reason == "OK")
        let noReason = try HTTPWire.parseStatusLine("HTTP/1.0 404")
        #expect(noReason.status == 404 && noReason.reason == "")
        let spaced = try HTTPWire.parseStatusLine("HTTP/1.1 307 Temporary Redirect")
        #expect(spaced.reason == "Temporary Redirect")
        for bad in [
            "", "HTTP/2 200 OK", "HTTP/1.1 20 OK", "HTTP/1.1 2000 OK", "HTTP/1.1 abc OK", "ICY 200 OK", "HTTP/1.1  200 OK",
            "HTTP/1.1 099 x",
        ] {
            #expect(throws: HTTPClientError.self, "\(bad)") { try HTTPWire.parseStatusLine(bad) }
        }
    }

    @Test func parsesHeaderLines() throws {
        let (name, value) = try HTTPWire.parseHeaderLine("Content-Type:   application/json \t")
        #expect(name == "Content-Type" && value == "application/json")
        let (_, empty) = try HTTPWire.parseHeaderLine("X-Empty:")
        #expect(empty == "")
        let (_, colons) = try HTTPWire.parseHeaderLine("Location: http://a:5000/x")
        #expect(colons == "http://a:5000/x")
        for bad in ["no colon", ": no name", "Bad Name: x", "Bad\u{1}: x"] {
            #expect(throws: HTTPClientError.self, "\(bad)") { try HTTPWire.parseHeaderLine(bad) }
        }
    }

    @Test func readsHeadsInAnySlicesAndSkipsInterimAnswers() throws {
        let text =
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\nWWW-Authenticate: a\r\nwww-authenticate: b\r\n\r\nhi"
        for slice in [1, 2, 3, 7, 1000] {
            let r = reader(text, slice: slice)
            let head = try #require(try HTTPWire.readHead(r))
            #expect(head.status == 200)
            #expect(head.headers["content-length"] == "2")
            #expect(head.headers.values("WWW-Authenticate") == ["a", "b"])
            #expect(try HTTPWire.framing(of: head, method: "GET") == .length(2))
        }
        // Bare LF line ends are accepted.
        let lf = try #require(try HTTPWire.readHead(reader("HTTP/1.1 204 No Content\nServer: x\n\n")))
        #expect(lf.status == 204 && lf.headers["Server"] == "x")
        // End of stream before any byte: the server closed an idle connection.
        #expect(try HTTPWire.readHead(reader("")) == nil)
        #expect(throws: HTTPClientError.connectionClosed(detail: "in the middle of the response head")) {
            try HTTPWire.readHead(reader("HTTP/1.1 200 OK\r\nContent-Le"))
        }
    }

    @Test func refusesHostileHeads() throws {
        let long = "HTTP/1.1 200 OK\r\nX: " + String(repeating: "a", count: 20_000) + "\r\n\r\n"
        #expect(throws: HTTPClientError.self) { try HTTPWire.readHead(BufferedReader(stream: MemoryStream(long, sliceSize: 100))) }
        let many = "HTTP/1.1 200 OK\r\n" + (0..<300).map { "X-\($0): y\r\n" }.joined() + "\r\n"
        #expect(throws: HTTPClientError.self) { try HTTPWire.readHead(BufferedReader(stream: MemoryStream(many))) }
        let folded = "HTTP/1.1 200 OK\r\nX: a\r\n  b\r\n\r\n"
        #expect(throws: HTTPClientError.self) { try HTTPWire.readHead(reader(folded)) }
        let endless = "HTTP/1.1 200 OK\r\n" + String(repeating: "a", count: 100_000)
        #expect(throws: HTTPClientError.self) { try HTTPWire.readHead(BufferedReader(stream: MemoryStream(endless, sliceSize: 4096))) }
    }

    @Test func decidesBodyFraming() throws {
        func head(_ status: Int, _ fields: [(String, String)]) -> HTTPResponseHead {
            var headers = HTTPHeaders()
            for (name, value) in fields { headers.add(name, value) }
            return HTTPResponseHead(status: status, headers: headers)
        }
        #expect(try HTTPWire.framing(of: head(200, [("Content-Length", "10")]), method: "HEAD") == .none)
        #expect(try HTTPWire.framing(of: head(204, []), method: "GET") == .none)
        #expect(try HTTPWire.framing(of: head(304, [("Content-Length", "5")]), method: "GET") == .none)
        #expect(try HTTPWire.framing(of: head(200, [("Content-Length", "10")]), method: "GET") == .length(10))
        #expect(try HTTPWire.framing(of: head(200, [("Content-Length", "10"), ("Content-Length", "10")]), method: "GET") == .length(10))
        #expect(
            try HTTPWire.framing(of: head(200, [("Transfer-Encoding", "chunked"), ("Content-Length", "10")]), method: "GET") == .chunked)
        #expect(try HTTPWire.framing(of: head(200, [("Transfer-Encoding", "Chunked")]), method: "GET") == .chunked)
        #expect(try HTTPWire.framing(of: head(200, []), method: "GET") == .untilClose)
        for bad: [(String, String)] in [
            [("Content-Length", "10"), ("Content-Length", "11")], [("Content-Length", "-1")],
            [("Content-Length", "+5")], [("Content-Length", "1e3")], [("Content-Length", "99999999999999999999")],
            [("Transfer-Encoding", "gzip")], [("Transfer-Encoding", "gzip, chunked")], [("Content-Length", "")],
        ] {
            #expect(throws: HTTPClientError.self, "\(bad)") { try HTTPWire.framing(of: head(200, bad), method: "GET") }
        }
    }

    @Test func decodesChunkedBodies() throws {
        let text = "4\r\nWiki\r\n5;name=value\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nTrailer: x\r\n\r\n"
        for slice in [1, 2, 5, 1000] {
            #expect(try body(text, framing: .chunked, slice: slice) == "Wikipedia in\r\n\r\nchunks.")
        }
        #expect(try body("0\r\n\r\n", framing: .chunked) == "")
        #expect(try body("A\r\n0123456789\r\n0\r\n\r\n", framing: .chunked) == "0123456789")
    }

    @Test func refusesHostileChunkSizes() throws {
        for bad in ["fffffffffffffffff\r\n", "-1\r\nx\r\n0\r\n\r\n", "\r\n", "zz\r\n", "0x10\r\n", "1 0\r\n", " \r\n"] {
            #expect(throws: HTTPClientError.self, "\(bad.debugDescription)") { try body(bad, framing: .chunked) }
        }
        // A huge announced size with little data ends in a closed-connection error, not an allocation.
        #expect(throws: HTTPClientError.self) { try body("7fffffffffffffff\r\nabc", framing: .chunked) }
        // Data longer than its chunk size.
        #expect(throws: HTTPClientError.malformedResponse("chunk data longer than its size")) {
            try body("2\r\nabc\r\n0\r\n\r\n", framing: .chunked)
        }
        // Missing last chunk.
        #expect(throws: HTTPClientError.self) { try body("3\r\nabc\r\n", framing: .chunked) }
        #expect(try HTTPWire.parseChunkSize("7fffffffffffffff") == Int64.max)
        #expect(try HTTPWire.parseChunkSize("1a;ext") == 26)
    }

    @Test func lengthFramedBodiesMustBeComplete() throws {
        #expect(try body("hello world", framing: .length(5), slice: 2) == "hello")
        #expect(throws: HTTPClientError.connectionClosed(detail: "with 6 of 10 body bytes still to come")) {
            try body("abcd", framing: .length(10))
        }
        #expect(try body("until the end", framing: .untilClose, slice: 3) == "until the end")
    }

    @Test func decidesKeepAlive() {
        #expect(HTTPWire.keepsAlive(HTTPResponseHead(status: 200), framing: .length(1)))
        #expect(!HTTPWire.keepsAlive(HTTPResponseHead(status: 200, headers: ["Connection": "close"]), framing: .length(1)))
        #expect(!HTTPWire.keepsAlive(HTTPResponseHead(status: 200), framing: .untilClose))
        #expect(!HTTPWire.keepsAlive(HTTPResponseHead(version: "HTTP/1.0", status: 200), framing: .length(1)))
        #expect(
            HTTPWire.keepsAlive(
                HTTPResponseHead(version: "HTTP/1.0", status: 200, headers: ["Connection": "Keep-Alive"]), framing: .length(1)))
    }

    @Test func writesRequestHeads() throws {
        let head = try HTTPWire.requestHead(
            method: "PUT", target: "/v2/a/blobs/uploads/x?digest=sha256%3Aab", hostHeader: "127.0.0.1:5000",
            headers: ["Content-Type": "application/octet-stream", "Content-Length": "999"], bodyLength: 12, chunked: false)
        #expect(
            String(decoding: head, as: UTF8.self)
                == "PUT /v2/a/blobs/uploads/x?digest=sha256%3Aab HTTP/1.1\r\nHost: 127.0.0.1:5000\r\nContent-Type: application/octet-stream\r\nContent-Length: 12\r\n\r\n"
        )
        let post = try HTTPWire.requestHead(method: "POST", target: "/", hostHeader: "h", headers: [:], bodyLength: 0, chunked: false)
        #expect(String(decoding: post, as: UTF8.self).contains("Content-Length: 0\r\n"))
        let get = try HTTPWire.requestHead(method: "GET", target: "/", hostHeader: "h", headers: [:], bodyLength: 0, chunked: false)
        #expect(!String(decoding: get, as: UTF8.self).contains("Content-Length"))
        let chunked = try HTTPWire.requestHead(method: "PATCH", target: "/", hostHeader: "h", headers: [:], bodyLength: nil, chunked: true)
        #expect(String(decoding: chunked, as: UTF8.self).contains("Transfer-Encoding: chunked\r\n"))
        #expect(throws: HTTPClientError.self) {
            try HTTPWire.requestHead(
                method: "GET", target: "/", hostHeader: "h", headers: ["X": "a\r\nInjected: yes"], bodyLength: 0, chunked: false)
        }
        #expect(throws: HTTPClientError.self) {
            try HTTPWire.requestHead(method: "GET", target: "/a b", hostHeader: "h", headers: [:], bodyLength: 0, chunked: false)
        }
        #expect(throws: HTTPClientError.self) {
            try HTTPWire.requestHead(method: "G T", target: "/", hostHeader: "h", headers: [:], bodyLength: 0, chunked: false)
        }
        #expect(HTTPWire.chunk(Array("Wiki".utf8)) == Array("4\r\nWiki\r\n".utf8))
        #expect(HTTPWire.chunk(Array(repeating: 0x61, count: 26)).prefix(4) == Array("1a\r\n".utf8)[...])
        #expect(HTTPWire.chunk([]) == Array("0\r\n\r\n".utf8))
    }
}

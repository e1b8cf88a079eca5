/// HTTP/1.1 framing (RFC 9112): request heads out, response heads and bodies in.
///
/// It exists apart from the sockets so every rule that a hostile or broken server can hit
/// (status lines, header limits, Content-Length, chunk sizes) is a pure function with tests.
enum HTTPWire {
    static let lineLimit = 16 << 10
    static let headerFieldLimit = 256
    static let headBytesLimit = 128 << 10

    // MARK: request

    /// The request head: request line, Host, the caller's fields, and the body's framing.
    static func requestHead(
        method: String, target: String, hostHeader: String, headers: HTTPHeaders,
        bodyLength: Int64?, chunked: Bool
    ) throws -> [UInt8] {
        guard !method.isEmpty, method.utf8.allSatisfy(isTokenByte) else { throw HTTPClientError.invalidRequest("method '\(method)'") }
        guard !target.isEmpty, !target.utf8.contains(where: { $0 <= 32 || $0 == 127 }) else {
            throw HTTPClientError.invalidRequest("request target '\(target)'")
        }
        var head = "\(method) \(target) HTTP/1.1\r\nHost: \(hostHeader)\r\n"
        for (name, value) in headers {
            guard !name.isEmpty, name.utf8.allSatisfy(isTokenByte) else { throw HTTPClientError.invalidRequest("header name '\(name)'") }
            guard !value.utf8.contains(where: { $0 == 13 || $0 == 10 || $0 == 0 }) else {
                throw HTTPClientError.invalidRequest("a line break in the value of header '\(name)'")
            }
            if name.caseInsensitiveEquals("Host") || name.caseInsensitiveEquals("Content-Length")
                || name.caseInsensitiveEquals("Transfer-Encoding")
            {
                continue
            }
            head += "\(name): \(value)\r\n"
        }
        if chunked {
            head += "Transfer-Encoding: chunked\r\n"
        } else if let bodyLength, bodyLength > 0 || !["GET", "HEAD", "DELETE", "OPTIONS"].contains(method) {
            head += "Content-Length: \(bodyLength)\r\n"
        }
        head += "\r\n"
        return Array(head.utf8)
    }

    /// RFC 9110 token characters (method and field names).
    static func isTokenByte(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(c)
        }
    }

    // MARK: response head

    /// "HTTP/1.1 200 OK" into its parts.
    static func parseStatusLine(_ line: String) throws -> (version: String, status: Int, reason: String) {
        let parts = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), parts[0].count == 8,
            parts[1].count == 3, parts[1].utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let status = Int(parts[1]), status >= 100
        else {
            throw HTTPClientError.malformedResponse("status line '\(line.prefix(80))'")
        }
        return (String(parts[0]), status, parts.count > 2 ? String(parts[2]) : "")
    }

    /// "Name: value" into its parts (the value without surrounding spaces).
    static func parseHeaderLine(_ line: String) throws -> (String, String) {
        guard let colon = line.firstIndex(of: ":") else { throw HTTPClientError.malformedResponse("header line '\(line.prefix(80))'") }
        let name = line[..<colon]
        guard !name.isEmpty, name.utf8.allSatisfy(isTokenByte) else {
            throw HTTPClientError.malformedResponse("header name '\(name.prefix(80))'")
        }
        return (String(name), String(line[line.index(after: colon)...].trimmingHTTPSpaces()))
    }

    /// Reads a response head, skipping interim 1xx answers. Nil when the stream ends before a
    /// single byte (a kept-alive connection the server had closed).
    static func readHead(_ reader: BufferedReader) throws -> HTTPResponseHead? {
        while true {
            guard let statusLine = try reader.readLine(limit: lineLimit) else { return nil }
            let (version, status, reason) = try parseStatusLine(statusLine)
            var headers = HTTPHeaders()
            var total = statusLine.utf8.count
            while true {
                guard let line = try reader.readLine(limit: lineLimit) else {
                    throw HTTPClientError.connectionClosed(detail: "in the middle of the response head")
                }
                if line.isEmpty { break }
                total += line.utf8.count
                guard headers.count < headerFieldLimit, total <= headBytesLimit else {
                    throw HTTPClientError.malformedResponse(
                        "more than \(headerFieldLimit) header fields or \(headBytesLimit) bytes of head")
                }
                if line.first == " " || line.first == "\t" {
                    throw HTTPClientError.malformedResponse("obsolete folded header line")
                }
                let (name, value) = try parseHeaderLine(line)
                headers.add(name, value)
            }
            if (100..<200).contains(status) && status != 101 { continue }
            return HTTPResponseHead(version: version, status: status, reason: reason, headers: headers)
        }
    }

    // MARK: body framing

    /// How a response body ends.
    enum Framing: Equatable {
        case none
        case length(Int64)
        case chunked
        case untilClose
    }

    /// RFC 9112 section 6.3: HEAD, 1xx, 204 and 304 have no body; chunked wins over a length;
    /// conflicting or malformed lengths are refused (request smuggling territory).
    static func framing(of head: HTTPResponseHead, method: String) throws -> Framing {
        if method == "HEAD" || head.status == 204 || head.status == 304 || (100..<200).contains(head.status) { return .none }
        let encodings = head.headers.values("Transfer-Encoding")
        if !encodings.isEmpty {
            let codings = encodings.flatMap { $0.split(separator: ",") }.map { $0.trimmingHTTPSpaces().lowercased() }
            guard codings.last == "chunked" else {
                throw HTTPClientError.malformedResponse("unsupported Transfer-Encoding '\(encodings.joined(separator: ", "))'")
            }
            guard codings.count == 1 else {
                throw HTTPClientError.malformedResponse("unsupported Transfer-Encoding '\(encodings.joined(separator: ", "))'")
            }
            return .chunked
        }
        let lengths = head.headers.values("Content-Length").flatMap { $0.split(separator: ",", omittingEmptySubsequences: false) }.map {
            $0.trimmingHTTPSpaces()
        }
        if let first = lengths.first {
            guard lengths.allSatisfy({ $0 == first }), let length = parseDecimal(first) else {
                throw HTTPClientError.malformedResponse("Content-Length '\(lengths.joined(separator: ", "))'")
            }
            return .length(length)
        }
        return .untilClose
    }

    /// A non-negative decimal of at most 18 digits (no sign, no spaces).
    static func parseDecimal<S: StringProtocol>(_ text: S) -> Int64? {
        guard !text.isEmpty, text.utf8.count <= 18, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        return Int64(text)
    }

    /// A chunk-size line: hex digits, optionally followed by ";extensions". At most 16 hex
    /// digits, and a size beyond Int64 is refused, so a hostile size cannot overflow.
    static func parseChunkSize(_ line: String) throws -> Int64 {
        let sizeText =
            line.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first.map { $0.trimmingHTTPSpaces() } ?? ""
        guard !sizeText.isEmpty, sizeText.utf8.count <= 16, sizeText.utf8.allSatisfy({ isHexDigit($0) }),
            let size = Int64(sizeText, radix: 16)
        else {
            throw HTTPClientError.malformedResponse("chunk size '\(line.prefix(40))'")
        }
        return size
    }

    static func isHexDigit(_ c: UInt8) -> Bool {
        (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102)
    }

    /// Reads the body framed as `framing`, handing every slice to `deliver`. Returns whether the
    /// body ended cleanly at a framing boundary (the connection may then be reused).
    static func readBody(_ reader: BufferedReader, framing: Framing, deliver: (UnsafeRawBufferPointer) throws -> Void) throws {
        switch framing {
        case .none:
            return
        case .length(let length):
            try readExactly(reader, length, deliver: deliver)
        case .untilClose:
            while try reader.readSome(maximum: Int.max, deliver) > 0 {}
        case .chunked:
            while true {
                guard let line = try reader.readLine(limit: lineLimit) else {
                    throw HTTPClientError.connectionClosed(detail: "before the end of a chunked body")
                }
                let size = try parseChunkSize(line)
                if size == 0 { break }
                try readExactly(reader, size, deliver: deliver)
                guard let end = try reader.readLine(limit: 64) else {
                    throw HTTPClientError.connectionClosed(detail: "before the end of a chunked body")
                }
                guard end.isEmpty else { throw HTTPClientError.malformedResponse("chunk data longer than its size") }
            }
            // Trailer fields, ignored, up to the empty line.
            var trailers = 0
            while true {
                guard let line = try reader.readLine(limit: lineLimit) else {
                    throw HTTPClientError.connectionClosed(detail: "before the end of a chunked body")
                }
                if line.isEmpty { break }
                trailers += 1
                guard trailers <= headerFieldLimit else {
                    throw HTTPClientError.malformedResponse("more than \(headerFieldLimit) trailer fields")
                }
            }
        }
    }

    private static func readExactly(_ reader: BufferedReader, _ length: Int64, deliver: (UnsafeRawBufferPointer) throws -> Void) throws {
        var remaining = length
        while remaining > 0 {
            let n = try reader.readSome(maximum: Int(min(remaining, Int64(Int.max))), deliver)
            guard n > 0 else {
                throw HTTPClientError.connectionClosed(detail: "with \(remaining) of \(length) body bytes still to come")
            }
            remaining -= Int64(n)
        }
    }

    /// Whether the connection may carry another request after this response.
    static func keepsAlive(_ head: HTTPResponseHead, framing: Framing) -> Bool {
        if framing == .untilClose { return false }
        if head.headers.hasToken("Connection", "close") { return false }
        if head.version == "HTTP/1.0" { return head.headers.hasToken("Connection", "keep-alive") }
        return head.status != 101
    }

    /// Encodes one chunk of a chunked request body (an empty slice is the last chunk).
    static func chunk(_ bytes: [UInt8]) -> [UInt8] {
        if bytes.isEmpty { return Array("0\r\n\r\n".utf8) }
        return Array((String(bytes.count, radix: 16) + "\r\n").utf8) + bytes + [13, 10]
    }
}

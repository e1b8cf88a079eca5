/// A bidirectional byte stream: a TCP socket, a TLS session over one, or memory in tests.
///
/// It exists so the HTTP/1.1 framing code is the same over plain and encrypted connections
/// and can be tested with hostile input without a server.
protocol ByteStream: AnyObject {
    /// Reads at most `buffer.count` bytes; 0 means the peer closed its side.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
    /// Writes all of `bytes`.
    func write(_ bytes: UnsafeRawBufferPointer) throws
    /// Closes the stream; further calls fail.
    func close()
}

extension ByteStream {
    func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }
}

/// Buffered reading over a `ByteStream`: lines for the response head and chunk sizes,
/// and body bytes handed out in place (no copy beyond the one read).
final class BufferedReader {
    let stream: ByteStream
    private let base: UnsafeMutableRawPointer
    private let capacity: Int
    private var start = 0
    private var end = 0
    /// Whether any byte arrived since the last `resetActivity()`: a reused connection that
    /// fails before any byte of a response may be retried on a fresh one.
    private(set) var receivedAny = false
    /// Counts the bytes read for the request using the connection (the low-speed limit).
    var counter: TransferCounter?

    init(stream: ByteStream, capacity: Int = 256 << 10) {
        self.stream = stream
        self.capacity = max(capacity, 1024)
        base = UnsafeMutableRawPointer.allocate(byteCount: self.capacity, alignment: 16)
    }

    deinit { base.deallocate() }

    private func bytes(_ from: Int, _ to: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + from, count: to - from)
    }

    var buffered: Int { end - start }
    func resetActivity() { receivedAny = false }

    /// Reads more into the buffer; false at end of stream.
    private func fill() throws -> Bool {
        if start == end {
            start = 0
            end = 0
        }
        if end == capacity {
            // Compact: move the unread bytes to the front.
            let count = end - start
            if start > 0 { base.copyMemory(from: base + start, byteCount: count) }
            start = 0
            end = count
            guard end < capacity else { return true }
        }
        let n = try stream.read(into: UnsafeMutableRawBufferPointer(start: base + end, count: capacity - end))
        if n == 0 { return false }
        counter?.add(n)
        receivedAny = true
        end += n
        return true
    }

    /// One line without its CR LF (a bare LF is accepted too); nil when the stream ends before
    /// any byte of it. A line longer than `limit` is an error, not an allocation.
    func readLine(limit: Int) throws -> String? {
        var scanned = 0
        while true {
            let unscanned = bytes(start + scanned, end)
            if let index = unscanned.firstIndex(of: UInt8(ascii: "\n")) {
                let lineEnd = start + scanned + index
                var contentEnd = lineEnd
                if contentEnd > start, base.load(fromByteOffset: contentEnd - 1, as: UInt8.self) == UInt8(ascii: "\r") { contentEnd -= 1 }
                guard contentEnd - start <= limit else {
                    throw HTTPClientError.malformedResponse("a header or chunk line is longer than \(limit) bytes")
                }
                let line = String(decoding: bytes(start, contentEnd), as: UTF8.self)
                start = lineEnd + 1
                return line
            }
            scanned = end - start
            guard scanned <= limit + 1 else {
                throw HTTPClientError.malformedResponse("a header or chunk line is longer than \(limit) bytes")
            }
            if try !fill() {
                if end == start { return nil }
                throw HTTPClientError.connectionClosed(detail: "in the middle of the response head")
            }
        }
    }

    /// Hands at most `maximum` body bytes to `body`, reading when the buffer is empty.
    /// Returns how many; 0 at end of stream.
    func readSome(maximum: Int, _ body: (UnsafeRawBufferPointer) throws -> Void) throws -> Int {
        if start == end, try !fill() { return 0 }
        let count = min(maximum, end - start)
        try body(bytes(start, start + count))
        start += count
        return count
    }
}

/// Bytes in memory as a stream: the tests' server, sliced into reads of `sliceSize`.
final class MemoryStream: ByteStream {
    private var input: [UInt8]
    private var position = 0
    private let sliceSize: Int
    private(set) var written: [UInt8] = []
    private(set) var closed = false

    init(_ input: [UInt8], sliceSize: Int = .max) {
        self.input = input
        self.sliceSize = max(1, sliceSize)
    }

    convenience init(_ text: String, sliceSize: Int = .max) {
        self.init(Array(text.utf8), sliceSize: sliceSize)
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let count = min(buffer.count, sliceSize, input.count - position)
        guard count > 0 else { return 0 }
        buffer.copyBytes(from: input[position..<(position + count)])
        position += count
        return count
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws { written.append(contentsOf: bytes) }
    func close() { closed = true }
}

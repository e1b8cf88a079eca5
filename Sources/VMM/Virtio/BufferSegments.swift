/// A view of a chain's buffers as one byte stream, so devices can read headers and payloads that
/// a driver split across descriptors however it liked (the spec forbids assuming any framing).
struct BufferSegments {
    var segments: [(address: UInt64, length: UInt64)]

    init(_ buffers: [VirtqueueBuffer]) {
        segments = buffers.map { ($0.address, UInt64($0.length)) }
    }

    var totalLength: UInt64 { segments.reduce(0) { $0 + $1.length } }

    /// Removes and returns the first `count` bytes; nil when the stream is shorter.
    mutating func take(_ count: Int, memory: GuestMemory) throws(GuestMemoryError) -> [UInt8]? {
        guard totalLength >= UInt64(count) else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(count)
        while out.count < count {
            let first = segments[0]
            let chunk = min(first.length, UInt64(count - out.count))
            out += try memory.read(at: first.address, count: Int(chunk))
            advance(by: chunk)
        }
        return out
    }

    /// Drops the first `count` bytes.
    mutating func advance(by count: UInt64) {
        var remaining = count
        while remaining > 0, !segments.isEmpty {
            if segments[0].length <= remaining {
                remaining -= segments[0].length
                segments.removeFirst()
            } else {
                segments[0] = (segments[0].address + remaining, segments[0].length - remaining)
                remaining = 0
            }
        }
        segments.removeAll { $0.length == 0 }
    }

    /// Splits off the last byte (the status byte of block requests); nil when empty.
    mutating func popLastByte() -> UInt64? {
        while let last = segments.last, last.length == 0 { segments.removeLast() }
        guard let last = segments.last else { return nil }
        segments[segments.count - 1] = (last.address, last.length - 1)
        if last.length == 1 { segments.removeLast() }
        return last.address + last.length - 1
    }

    /// Copies `bytes` into the stream from its start; returns how many fit.
    mutating func put(_ bytes: [UInt8], memory: GuestMemory) throws(GuestMemoryError) -> Int {
        var written = 0
        while written < bytes.count, !segments.isEmpty {
            let first = segments[0]
            let chunk = Int(min(first.length, UInt64(bytes.count - written)))
            try memory.write(Array(bytes[written..<written + chunk]), at: first.address)
            written += chunk
            advance(by: UInt64(chunk))
        }
        return written
    }
}

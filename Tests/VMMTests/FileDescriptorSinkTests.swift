import Glibc
import Testing
@testable import VMM

/// The console sink never blocks its caller: a pipe nobody reads costs at most `capacity` bytes.
@Suite struct FileDescriptorSinkTests {
    @Test func aFullPipeIsBufferedUpToTheCapacityThenCountedAsDroppedAndFlushedInOrder() throws {
        var fds: [Int32] = [-1, -1]
        try #require(pipe(&fds) == 0)
        defer { for fd in fds { close(fd) } }
        let sink = FileDescriptorSink(fd: fds[1], capacity: 1000)
        #expect(sink.method == .write && sink.ownsDescriptor, "a pipe gets its own non-blocking description")
        #expect(fcntl(fds[1], F_GETFL) & O_NONBLOCK == 0, "the caller's description is left blocking")
        // Far more than a pipe holds (64 KiB by default), one write per byte as the UART does.
        let total = 200_000
        for i in 0..<total { sink.write([UInt8(truncatingIfNeeded: i % 251)]) }
        #expect(sink.pendingBytes == 1000)
        var queued: Int32 = 0
        _ = ioctl(fds[0], UInt(FIONREAD), &queued)
        #expect(sink.droppedBytes == total - Int(queued) - 1000)
        // A reader drains the pipe; the pending bytes follow what was written before them.
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        _ = fcntl(fds[0], F_SETFL, O_NONBLOCK)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
            if n > 0 {
                received += buffer[0..<n]
                continue
            }
            if sink.pendingBytes == 0 { break }
            sink.flushPending()
        }
        #expect(received == (0..<(Int(queued) + 1000)).map { UInt8(truncatingIfNeeded: $0 % 251) })
    }

    @Test func finishGivesUpOnAReaderThatStoppedReading() throws {
        var fds: [Int32] = [-1, -1]
        try #require(pipe(&fds) == 0)
        defer { for fd in fds { close(fd) } }
        let sink = FileDescriptorSink(fd: fds[1], capacity: 4096)
        for _ in 0..<100 { sink.write([UInt8](repeating: 0x41, count: 1024)) }
        #expect(sink.pendingBytes == 4096)
        var start = timespec(), end = timespec()
        clock_gettime(CLOCK_MONOTONIC, &start)
        sink.finish(stall: 0.05, limit: 1)
        clock_gettime(CLOCK_MONOTONIC, &end)
        var queued: Int32 = 0
        _ = ioctl(fds[0], UInt(FIONREAD), &queued)
        #expect(sink.pendingBytes == 0)
        #expect(sink.droppedBytes == 100 * 1024 - Int(queued))
        #expect(end.tv_sec - start.tv_sec < 2)
    }
}

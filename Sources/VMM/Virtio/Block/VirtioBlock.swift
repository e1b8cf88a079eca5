#if canImport(Glibc)
import Glibc
#endif

/// virtio-blk (virtio 1.2, section 5.2) backed by a raw image file: reads and writes go straight
/// between the file and guest memory with pread/pwrite, flush is fdatasync, and a read-only disk
/// advertises VIRTIO_BLK_F_RO and fails writes with IOERR.
/// Unchecked Sendable: its descriptor and geometry are immutable; requests are served from the
/// `VirtioDevice` methods, which the transport calls under its lock.
public final class VirtioBlock: VirtioDevice, @unchecked Sendable {
    public static let sectorSize: UInt64 = 512
    public static let queueSize: UInt16 = 256
    public static let featureSegmentMaximum: UInt64 = 1 << 2
    public static let featureReadOnly: UInt64 = 1 << 5
    public static let featureFlush: UInt64 = 1 << 9
    static let segmentMaximum: UInt32 = 128

    public enum RequestType: UInt32 {
        case read = 0
        case write = 1
        case flush = 4
        case getID = 8
    }
    public enum RequestStatus: UInt8 {
        case ok = 0
        case ioError = 1
        case unsupported = 2
    }

    public let path: String
    public let readOnly: Bool
    let fd: Int32
    public let capacitySectors: UInt64
    let identifier: String

    public var deviceType: VirtioDeviceType { .block }
    public var offeredFeatures: UInt64 {
        VirtioFeature.version1 | Self.featureFlush | Self.featureSegmentMaximum | (readOnly ? Self.featureReadOnly : 0)
    }
    public var queueMaximumSizes: [UInt16] { [Self.queueSize] }

    /// Opens `path`; a disk that cannot be opened is a clear error before the VM starts.
    public init(path: String, readOnly: Bool, identifier: String = "skiff") throws(VMMError) {
        let fd = open(path, (readOnly ? O_RDONLY : O_RDWR) | O_CLOEXEC)
        guard fd >= 0 else { throw .diskUnopenable(path: path, errno: errno) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let e = errno
            close(fd)
            throw .diskUnopenable(path: path, errno: e)
        }
        guard (st.st_mode & S_IFMT) == S_IFREG || (st.st_mode & S_IFMT) == S_IFBLK else {
            close(fd)
            throw .diskUnopenable(path: path, errno: EINVAL)
        }
        var size = UInt64(st.st_size)
        if (st.st_mode & S_IFMT) == S_IFBLK { size = UInt64(max(0, lseek(fd, 0, SEEK_END))) }
        self.path = path
        self.readOnly = readOnly
        self.fd = fd
        self.capacitySectors = size / Self.sectorSize
        self.identifier = identifier
    }

    deinit { close(fd) }

    public func configurationSpace() -> [UInt8] {
        var config = [UInt8](repeating: 0, count: 24)
        config.setLittleEndian(capacitySectors, at: 0)
        config.setLittleEndian(UInt32(0), at: 8)  // size_max: not offered
        config.setLittleEndian(Self.segmentMaximum, at: 12)
        config.setLittleEndian(UInt32(Self.sectorSize), at: 20)
        return config
    }

    public func activate(features: UInt64, queues: VirtioQueueSet) throws(VirtqueueError) {}
    public func reset() {}

    public func process(queue index: Int, queues: VirtioQueueSet) throws(VirtqueueError) -> Bool {
        guard index == 0 else { return false }
        var used = false
        while let chain = try queues.take(0) {
            let written = try handle(chain, memory: queues.memory)
            try queues.queues[0].pushUsed(head: chain.head, written: written, memory: queues.memory)
            used = true
        }
        return used
    }

    /// Executes one request; returns the bytes written into device-writable buffers.
    func handle(_ chain: DescriptorChain, memory: GuestMemory) throws(VirtqueueError) -> UInt32 {
        do {
            var readable = BufferSegments(chain.readable)
            var writable = BufferSegments(chain.writable)
            guard let statusAddress = writable.popLastByte() else { throw VirtqueueError.badRequest("block request without a status byte") }
            guard let header = try readable.take(16, memory: memory),
                let type = header.littleEndian(UInt32.self, at: 0),
                let sector = header.littleEndian(UInt64.self, at: 8)
            else {
                try memory.store(RequestStatus.ioError.rawValue, at: statusAddress)
                return 1
            }
            var status = RequestStatus.ok
            var dataWritten: UInt64 = 0
            switch RequestType(rawValue: type) {
            case .read:
                let length = writable.totalLength
                if !inRange(sector: sector, length: length) {
                    status = .ioError
                    break
                }
                var offset = sector * Self.sectorSize
                for segment in writable.segments {
                    let target = try memory.buffer(at: segment.address, length: segment.length)
                    guard fullRead(target, at: offset) else {
                        status = .ioError
                        break
                    }
                    offset += segment.length
                    dataWritten += segment.length
                }
            case .write:
                if readOnly {
                    status = .ioError
                    break
                }
                let length = readable.totalLength
                if !inRange(sector: sector, length: length) {
                    status = .ioError
                    break
                }
                var offset = sector * Self.sectorSize
                for segment in readable.segments {
                    let source = try memory.buffer(at: segment.address, length: segment.length)
                    guard fullWrite(UnsafeRawBufferPointer(source), at: offset) else {
                        status = .ioError
                        break
                    }
                    offset += segment.length
                }
            case .flush:
                if !readOnly && fdatasync(fd) != 0 { status = .ioError }
            case .getID:
                var id = Array(identifier.utf8.prefix(20))
                id += [UInt8](repeating: 0, count: 20 - id.count)
                dataWritten = UInt64(try writable.put(id, memory: memory))
            case nil:
                status = .unsupported
            }
            try memory.store(status.rawValue, at: statusAddress)
            return UInt32(truncatingIfNeeded: dataWritten + 1)
        } catch let error as GuestMemoryError {
            throw .outsideGuestMemory(address: error.address, length: error.length)
        } catch let error as VirtqueueError {
            throw error
        } catch {
            throw .badRequest("\(error)")
        }
    }

    func inRange(sector: UInt64, length: UInt64) -> Bool {
        guard length % Self.sectorSize == 0 else { return false }
        let sectors = length / Self.sectorSize
        return sector <= capacitySectors && sectors <= capacitySectors - sector
    }

    private func fullRead(_ target: UnsafeMutableRawBufferPointer, at offset: UInt64) -> Bool {
        guard let base = target.baseAddress else { return target.count == 0 }
        var done = 0
        while done < target.count {
            let n = pread(fd, base + done, target.count - done, off_t(offset) + off_t(done))
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            done += n
        }
        return true
    }

    private func fullWrite(_ source: UnsafeRawBufferPointer, at offset: UInt64) -> Bool {
        guard let base = source.baseAddress else { return source.count == 0 }
        var done = 0
        while done < source.count {
            let n = pwrite(fd, base + done, source.count - done, off_t(offset) + off_t(done))
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            done += n
        }
        return true
    }
}

import Glibc
import Testing
@testable import VMM

@Suite struct VirtioBlockTests {
    final class Disk {
        let path: String
        init(sectors: Int, fill: (Int) -> UInt8 = { _ in 0 }) throws {
            var template = Array("/tmp/skiff-blk-XXXXXX".utf8CString)
            let fd = mkstemp(&template)
            path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let bytes = (0..<(sectors * 512)).map(fill)
            _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            close(fd)
        }
        deinit { unlink(path) }
        func contents() -> [UInt8] {
            let fd = open(path, O_RDONLY)
            defer { close(fd) }
            var out = [UInt8](repeating: 0, count: 1 << 20)
            let n = out.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            return Array(out[0..<max(0, n)])
        }
    }

    func request(_ driver: TestDriver, type: UInt32, sector: UInt64, data: UInt64?, length: UInt32, dataWritable: Bool) throws -> (
        status: UInt8, written: UInt32
    ) {
        var header = [UInt8](repeating: 0, count: 16)
        header[0] = UInt8(type)
        for i in 0..<8 { header[8 + i] = UInt8(truncatingIfNeeded: sector >> (8 * i)) }
        let headerAddress = try driver.buffer(header)
        let statusAddress = try driver.buffer([0xFF])
        var chain: [(UInt64, UInt32, Bool)] = [(headerAddress, 16, false)]
        if let data { chain.append((data, length, dataWritable)) }
        chain.append((statusAddress, 1, true))
        try driver.post(0, chain)
        driver.notify(0)
        let used = try driver.takeUsed(0)
        return (try driver.memory.load(UInt8.self, at: statusAddress), used.last?.1 ?? 0)
    }

    @Test func capacityAndFeaturesDescribeTheFile() throws {
        let disk = try Disk(sectors: 8)
        let device = try VirtioBlock(path: disk.path, readOnly: true)
        #expect(device.capacitySectors == 8)
        #expect(device.offeredFeatures & VirtioBlock.featureReadOnly != 0)
        #expect(device.configurationSpace().littleEndian(UInt64.self, at: 0) == 8)
        #expect(try VirtioBlock(path: disk.path, readOnly: false).offeredFeatures & VirtioBlock.featureReadOnly == 0)
    }

    @Test func readsWritesAndFlushesGoToTheFile() throws {
        let disk = try Disk(sectors: 8) { UInt8($0 / 512) }
        let driver = try TestDriver(device: try VirtioBlock(path: disk.path, readOnly: false))
        driver.initialize(queues: 1)
        let data = try driver.buffer(length: 1024)
        let read = try request(driver, type: 0, sector: 2, data: data, length: 1024, dataWritable: true)
        #expect(read.status == 0)
        #expect(read.written == 1025)
        #expect(try driver.memory.read(at: data, count: 1024) == [UInt8](repeating: 2, count: 512) + [UInt8](repeating: 3, count: 512))

        let payload = try driver.buffer([UInt8](repeating: 0xAB, count: 512))
        #expect(try request(driver, type: 1, sector: 7, data: payload, length: 512, dataWritable: false).status == 0)
        #expect(Array(disk.contents()[3584..<4096]) == [UInt8](repeating: 0xAB, count: 512))
        #expect(try request(driver, type: 4, sector: 0, data: nil, length: 0, dataWritable: false).status == 0)
        #expect(!driver.needsReset)
    }

    @Test func requestsPastTheEndFailWithIOErrorAndTouchNothing() throws {
        let disk = try Disk(sectors: 4)
        let driver = try TestDriver(device: try VirtioBlock(path: disk.path, readOnly: false))
        driver.initialize(queues: 1)
        let data = try driver.buffer(length: 1024)
        #expect(try request(driver, type: 0, sector: 3, data: data, length: 1024, dataWritable: true).status == 1)
        #expect(try request(driver, type: 1, sector: UInt64.max, data: data, length: 512, dataWritable: false).status == 1)
        #expect(try request(driver, type: 0, sector: 0, data: data, length: 100, dataWritable: true).status == 1)
        #expect(disk.contents().count == 2048)
        #expect(!driver.needsReset)
    }

    @Test func aReadOnlyDiskFailsWritesAndKeepsItsData() throws {
        let disk = try Disk(sectors: 4) { _ in 0x11 }
        let driver = try TestDriver(device: try VirtioBlock(path: disk.path, readOnly: true))
        driver.initialize(queues: 1)
        let payload = try driver.buffer([UInt8](repeating: 0xEE, count: 512))
        #expect(try request(driver, type: 1, sector: 0, data: payload, length: 512, dataWritable: false).status == 1)
        #expect(disk.contents().allSatisfy { $0 == 0x11 })
    }

    @Test func unknownRequestTypesAreUnsupportedAndGetIDAnswers() throws {
        let disk = try Disk(sectors: 1)
        let driver = try TestDriver(device: try VirtioBlock(path: disk.path, readOnly: false, identifier: "disk-7"))
        driver.initialize(queues: 1)
        #expect(try request(driver, type: 99, sector: 0, data: nil, length: 0, dataWritable: false).status == 2)
        let id = try driver.buffer(length: 20)
        #expect(try request(driver, type: 8, sector: 0, data: id, length: 20, dataWritable: true).status == 0)
        #expect(Array(try driver.memory.read(at: id, count: 6)) == Array("disk-7".utf8))
    }

    @Test func aRequestWithoutStatusByteBreaksTheDeviceNotTheMonitor() throws {
        let disk = try Disk(sectors: 1)
        let driver = try TestDriver(device: try VirtioBlock(path: disk.path, readOnly: false))
        driver.initialize(queues: 1)
        try driver.post(0, [(try driver.buffer(length: 16), 16, false)])
        driver.notify(0)
        #expect(driver.needsReset)
    }

    @Test func aDataBufferOutsideGuestMemoryBreaksTheDevice() throws {
        let disk = try Disk(sectors: 4)
        let driver = try TestDriver(device: try VirtioBlock(path: disk.path, readOnly: false))
        driver.initialize(queues: 1)
        _ = try? request(driver, type: 0, sector: 0, data: 0x7FFF_0000_0000, length: 512, dataWritable: true)
        #expect(driver.needsReset)
        #expect(driver.transport.brokenReason?.contains("outside guest memory") == true)
    }

    @Test func aDiskThatCannotBeOpenedIsAClearError() {
        #expect(throws: VMMError.diskUnopenable(path: "/nonexistent/disk.img", errno: ENOENT)) {
            _ = try VirtioBlock(path: "/nonexistent/disk.img", readOnly: false)
        }
        #expect(throws: VMMError.self) { _ = try VirtioBlock(path: "/tmp", readOnly: true) }
    }
}

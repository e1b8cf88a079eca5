/// The 44-byte virtio-vsock packet header (virtio 1.2, section 5.10.6).
public struct VsockHeader: Equatable, Sendable {
    public static let size = 44
    public enum Operation: UInt16, Sendable {
        case request = 1
        case response = 2
        case reset = 3
        case shutdown = 4
        case readWrite = 5
        case creditUpdate = 6
        case creditRequest = 7
    }
    public static let typeStream: UInt16 = 1
    public static let shutdownReceive: UInt32 = 1
    public static let shutdownSend: UInt32 = 2

    public var sourceCID: UInt64
    public var destinationCID: UInt64
    public var sourcePort: UInt32
    public var destinationPort: UInt32
    public var length: UInt32
    public var type: UInt16
    public var operation: UInt16
    public var flags: UInt32
    public var bufferAllocation: UInt32
    public var forwardCount: UInt32

    public init(
        sourceCID: UInt64, destinationCID: UInt64, sourcePort: UInt32, destinationPort: UInt32, length: UInt32 = 0,
        type: UInt16 = VsockHeader.typeStream, operation: Operation, flags: UInt32 = 0, bufferAllocation: UInt32 = 0,
        forwardCount: UInt32 = 0
    ) {
        self.sourceCID = sourceCID
        self.destinationCID = destinationCID
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.length = length
        self.type = type
        self.operation = operation.rawValue
        self.flags = flags
        self.bufferAllocation = bufferAllocation
        self.forwardCount = forwardCount
    }

    public init?(_ bytes: [UInt8]) {
        guard bytes.count >= Self.size,
            let sourceCID = bytes.littleEndian(UInt64.self, at: 0), let destinationCID = bytes.littleEndian(UInt64.self, at: 8),
            let sourcePort = bytes.littleEndian(UInt32.self, at: 16), let destinationPort = bytes.littleEndian(UInt32.self, at: 20),
            let length = bytes.littleEndian(UInt32.self, at: 24), let type = bytes.littleEndian(UInt16.self, at: 28),
            let operation = bytes.littleEndian(UInt16.self, at: 30), let flags = bytes.littleEndian(UInt32.self, at: 32),
            let bufferAllocation = bytes.littleEndian(UInt32.self, at: 36), let forwardCount = bytes.littleEndian(UInt32.self, at: 40)
        else { return nil }
        self.sourceCID = sourceCID
        self.destinationCID = destinationCID
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.length = length
        self.type = type
        self.operation = operation
        self.flags = flags
        self.bufferAllocation = bufferAllocation
        self.forwardCount = forwardCount
    }

    public var bytes: [UInt8] {
        var out = [UInt8](repeating: 0, count: Self.size)
        out.setLittleEndian(sourceCID, at: 0)
        out.setLittleEndian(destinationCID, at: 8)
        out.setLittleEndian(sourcePort, at: 16)
        out.setLittleEndian(destinationPort, at: 20)
        out.setLittleEndian(length, at: 24)
        out.setLittleEndian(type, at: 28)
        out.setLittleEndian(operation, at: 30)
        out.setLittleEndian(flags, at: 32)
        out.setLittleEndian(bufferAllocation, at: 36)
        out.setLittleEndian(forwardCount, at: 40)
        return out
    }
}

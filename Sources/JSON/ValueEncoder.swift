/// The `Encoder` for one value; it is also its own single-value container.
///
/// `storage` holds what was encoded. `attach`, when set, publishes every new storage node into
/// the parent container at once; that is how `superEncoder()` results reach their parent.
final class JSONValueEncoder: Encoder, SingleValueEncodingContainer {
    let path: CodingPathNode
    private(set) var storage: EncodedNode?
    private let attach: ((EncodedNode) -> Void)?

    init(path: CodingPathNode, attach: ((EncodedNode) -> Void)? = nil) {
        self.path = path
        self.attach = attach
    }

    var codingPath: [any CodingKey] { path.keys }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    private func store(_ node: EncodedNode) {
        storage = node
        attach?(node)
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if case .object(let object) = storage {
            return KeyedEncodingContainer(JSONKeyedEncodingContainer<Key>(object: object, path: path))
        }
        let object = EncodedObject()
        store(.object(object))
        return KeyedEncodingContainer(JSONKeyedEncodingContainer<Key>(object: object, path: path))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if case .array(let array) = storage {
            return JSONUnkeyedEncodingContainer(array: array, path: path)
        }
        let array = EncodedArray()
        store(.array(array))
        return JSONUnkeyedEncodingContainer(array: array, path: path)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { self }

    // MARK: - SingleValueEncodingContainer

    func encodeNil() { store(.value(.null)) }
    func encode(_ value: Bool) { store(.value(.bool(value))) }
    func encode(_ value: String) { store(.value(.string(value))) }
    func encode(_ value: Double) throws { store(.value(try Self.box(value, path: path))) }
    func encode(_ value: Float) throws { store(.value(try Self.box(value, path: path))) }
    func encode(_ value: Int) { store(.value(Self.box(value))) }
    func encode(_ value: Int8) { store(.value(Self.box(value))) }
    func encode(_ value: Int16) { store(.value(Self.box(value))) }
    func encode(_ value: Int32) { store(.value(Self.box(value))) }
    func encode(_ value: Int64) { store(.value(Self.box(value))) }
    @available(macOS 15.0, *)
    func encode(_ value: Int128) { store(.value(Self.box(value))) }
    func encode(_ value: UInt) { store(.value(Self.box(value))) }
    func encode(_ value: UInt8) { store(.value(Self.box(value))) }
    func encode(_ value: UInt16) { store(.value(Self.box(value))) }
    func encode(_ value: UInt32) { store(.value(Self.box(value))) }
    func encode(_ value: UInt64) { store(.value(Self.box(value))) }
    @available(macOS 15.0, *)
    func encode(_ value: UInt128) { store(.value(Self.box(value))) }

    func encode<T: Encodable>(_ value: T) throws {
        try value.encode(to: self)
    }

    // MARK: - Boxing helpers shared by the containers

    static func box<I: FixedWidthInteger>(_ value: I) -> JSONValue {
        .number(JSONNumber(uncheckedText: String(value)))
    }

    static func box<F: BinaryFloatingPoint & LosslessStringConvertible>(_ value: F, path: CodingPathNode) throws -> JSONValue {
        guard value.isFinite else {
            throw EncodingError.invalidValue(
                value,
                EncodingError.Context(
                    codingPath: path.keys,
                    debugDescription: "\(value) cannot be written as a JSON number (JSON has no infinity or NaN)"))
        }
        return .number(JSONNumber(uncheckedText: value.description))
    }

    /// Encodes a nested value with a fresh encoder; a value that encodes nothing becomes `{}`.
    static func node<T: Encodable>(for value: T, path: CodingPathNode) throws -> EncodedNode {
        let encoder = JSONValueEncoder(path: path)
        try value.encode(to: encoder)
        return encoder.storage ?? .object(EncodedObject())
    }
}

/// Appends the elements of a JSON array.
struct JSONUnkeyedEncodingContainer: UnkeyedEncodingContainer {
    let array: EncodedArray
    let path: CodingPathNode

    var codingPath: [any CodingKey] { path.keys }
    var count: Int { array.elements.count }

    private func append(_ value: JSONValue) { array.elements.append(.value(value)) }
    private var nextPath: CodingPathNode { path.appending(index: count) }

    mutating func encodeNil() { append(.null) }
    mutating func encode(_ value: Bool) { append(.bool(value)) }
    mutating func encode(_ value: String) { append(.string(value)) }
    mutating func encode(_ value: Double) throws { append(try JSONValueEncoder.box(value, path: nextPath)) }
    mutating func encode(_ value: Float) throws { append(try JSONValueEncoder.box(value, path: nextPath)) }
    mutating func encode(_ value: Int) { append(JSONValueEncoder.box(value)) }
    mutating func encode(_ value: Int8) { append(JSONValueEncoder.box(value)) }
    mutating func encode(_ value: Int16) { append(JSONValueEncoder.box(value)) }
    mutating func encode(_ value: Int32) { append(JSONValueEncoder.box(value)) }
    mutating func encode(_ value: Int64) { append(JSONValueEncoder.box(value)) }
    @available(macOS 15.0, *)
    mutating func encode(_ value: Int128) { append(JSONValueEncoder.box(value)) }
    mutating func encode(_ value: UInt) { append(JSONValueEncoder.box(value)) }
    mutating func encode(_ value: UInt8) { append(JSONValueEncoder.box(value)) }
    mutating func encode(_ value: UInt16) { append(JSONValueEncoder.box(value)) }
    mutating func encode(_ value: UInt32) { append(JSONValueEncoder.box(value)) }
    mutating func encode(_ value: UInt64) { append(JSONValueEncoder.box(value)) }
    @available(macOS 15.0, *)
    mutating func encode(_ value: UInt128) { append(JSONValueEncoder.box(value)) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        array.elements.append(try JSONValueEncoder.node(for: value, path: nextPath))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type
    ) -> KeyedEncodingContainer<NestedKey> {
        let nested = EncodedObject()
        let nestedPath = nextPath
        array.elements.append(.object(nested))
        return KeyedEncodingContainer(JSONKeyedEncodingContainer<NestedKey>(object: nested, path: nestedPath))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let nested = EncodedArray()
        let nestedPath = nextPath
        array.elements.append(.array(nested))
        return JSONUnkeyedEncodingContainer(array: nested, path: nestedPath)
    }

    /// An encoder whose value fills a slot reserved now (an empty object until it encodes something).
    mutating func superEncoder() -> any Encoder {
        let slot = count
        let nestedPath = nextPath
        let array = self.array
        array.elements.append(.object(EncodedObject()))
        return JSONValueEncoder(path: nestedPath) { array.elements[slot] = $0 }
    }
}

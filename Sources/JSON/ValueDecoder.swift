/// The `Decoder` over one `JSONValue`; it is also its own single-value container.
///
/// It keeps its last coding-path component apart from the shared parent path, so decoding a
/// scalar field allocates no path node; the node is built only for nested containers and errors.
struct JSONValueDecoder: Decoder, SingleValueDecodingContainer {
    let value: JSONValue
    let parentPath: CodingPathNode
    let leaf: PathLeaf

    enum PathLeaf {
        case none
        case key(any CodingKey)
        case index(Int)
    }

    init(value: JSONValue, path: CodingPathNode) {
        self.value = value
        parentPath = path
        leaf = .none
    }

    init(value: JSONValue, parentPath: CodingPathNode, leaf: PathLeaf) {
        self.value = value
        self.parentPath = parentPath
        self.leaf = leaf
    }

    var path: CodingPathNode {
        switch leaf {
        case .none: return parentPath
        case .key(let key): return .key(key, parentPath)
        case .index(let index): return .index(index, parentPath)
        }
    }

    var codingPath: [any CodingKey] { path.keys }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let members) = value else {
            throw mismatch("an object", type: [String: Any].self)
        }
        return KeyedDecodingContainer(JSONKeyedDecodingContainer<Key>(members: members, path: path))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let elements) = value else {
            throw mismatch("an array", type: [Any].self)
        }
        return JSONUnkeyedDecodingContainer(elements: elements, path: path)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    // MARK: - SingleValueDecodingContainer

    func decodeNil() -> Bool {
        if case .null = value { return true }
        return false
    }

    func decode(_ type: Bool.Type) throws -> Bool {
        guard case .bool(let flag) = value else { throw mismatch("a boolean", type: type) }
        return flag
    }

    func decode(_ type: String.Type) throws -> String {
        guard case .string(let string) = value else { throw mismatch("a string", type: type) }
        return string
    }

    func decode(_ type: Double.Type) throws -> Double {
        let number = try number(for: type)
        guard let double = number.doubleValue else {
            throw corrupted("number \(number.text) is out of range for Double")
        }
        return double
    }

    func decode(_ type: Float.Type) throws -> Float {
        let number = try number(for: type)
        guard let double = number.doubleValue, abs(double) <= Double(Float.greatestFiniteMagnitude) else {
            throw corrupted("number \(number.text) is out of range for Float")
        }
        return Float(double)
    }

    func decode(_ type: Int.Type) throws -> Int { try integer(type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try integer(type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try integer(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try integer(type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try integer(type) }
    @available(macOS 15.0, *)
    func decode(_ type: Int128.Type) throws -> Int128 { try integer(type) }
    func decode(_ type: UInt.Type) throws -> UInt { try integer(type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try integer(type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try integer(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try integer(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try integer(type) }
    @available(macOS 15.0, *)
    func decode(_ type: UInt128.Type) throws -> UInt128 { try integer(type) }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try T(from: self)
    }

    // MARK: - Unboxing helpers

    func integer<I: FixedWidthInteger>(_ type: I.Type) throws -> I {
        let number = try number(for: type)
        guard let integer = number.integer(as: type) else {
            throw corrupted("number \(number.text) does not fit in \(type)")
        }
        return integer
    }

    func number(for type: Any.Type) throws -> JSONNumber {
        guard case .number(let number) = value else { throw mismatch("a number", type: type) }
        return number
    }

    /// `valueNotFound` for null, `typeMismatch` otherwise, as Foundation reports them.
    func mismatch(_ expected: String, type: Any.Type) -> DecodingError {
        if case .null = value {
            return .valueNotFound(
                type,
                DecodingError.Context(
                    codingPath: codingPath, debugDescription: "Expected \(expected) (\(type)) but found null"))
        }
        return .typeMismatch(
            type,
            DecodingError.Context(
                codingPath: codingPath,
                debugDescription: "Expected \(expected) (\(type)) but found \(value.kindDescription)"))
    }

    func corrupted(_ description: String) -> DecodingError {
        .dataCorrupted(DecodingError.Context(codingPath: codingPath, debugDescription: description))
    }
}

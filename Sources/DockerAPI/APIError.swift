import Engine
import ImageStore
import JSON
import Networking
import NIOHTTP1

/// A docker-style error response: a status code and `{"message": ...}`.
public struct APIError: Error, Sendable, CustomStringConvertible {
    public let status: HTTPResponseStatus
    public let message: String

    init(_ status: HTTPResponseStatus, _ message: String) {
        self.status = status
        self.message = message
    }

    public var description: String { message }

    static func badRequest(_ message: String) -> APIError { APIError(.badRequest, message) }
    static func notFound(_ message: String) -> APIError { APIError(.notFound, message) }
    static func conflict(_ message: String) -> APIError { APIError(.conflict, message) }
    static func internalError(_ message: String) -> APIError { APIError(.internalServerError, message) }
    static func notImplemented(_ message: String) -> APIError { APIError(.notImplemented, message) }

    var body: [UInt8] {
        struct Body: Encodable { var message: String }
        return (try? APIJSON.encode(Body(message: message))) ?? Array("{\"message\":\"error\"}".utf8)
    }

    /// The status docker answers for an engine or store error.
    static func from(_ error: any Error) -> APIError {
        if let error = error as? APIError { return error }
        if let error = error as? EngineError {
            switch error {
            case .noSuchContainer(let name): return .notFound("No such container: \(name)")
            case .noSuchVolume(let name): return .notFound("No such volume: \(name)")
            case .nameInUse, .volumeInUse, .wrongState: return .conflict(error.description)
            case .ambiguousContainer, .invalidName, .invalidOption, .noCommand, .userNotFound, .groupNotFound:
                return .badRequest(error.description)
            case .commandNotFound, .cannotInvoke, .startFailed, .corruptRecord, .timedOut:
                return .internalError(error.description)
            }
        }
        if let error = error as? StoreError {
            switch error {
            case .imageNotFound(let name): return .notFound("No such image: \(name)")
            case .imageInUse, .containerExists: return .conflict(error.description)
            case .ambiguousImage, .invalidName: return .badRequest(error.description)
            default: return .internalError(error.description)
            }
        }
        if let error = error as? NetworkError {
            switch error {
            case .noSuchNetwork: return .notFound(error.description)
            case .networkExists: return .conflict(error.description)
            case .networkInUse, .alreadyConnected, .cannotConnect, .subnetInUse, .noFreeSubnet: return .forbidden(error.description)
            case .notConnected: return .notFound(error.description)
            case .invalidPortSpec, .invalidSubnet, .invalidGateway, .invalidName: return .badRequest(error.description)
            case .portInUse: return .conflict(error.description)
            default: return .internalError(error.description)
            }
        }
        if error is HostFilesError { return .badRequest("\(error)") }
        if let error = error as? DecodingError { return .badRequest("invalid JSON body: " + JSONDecoding.describe(error)) }
        if let error = error as? JSONError { return .badRequest("invalid JSON body: \(error)") }
        return .internalError("\(error)")
    }
}

/// The API versions served: docker's clients negotiate down to `current` from `/_ping`.
public enum APIVersion {
    public static let current = "1.44"
    public static let minimum = "1.24"

    /// Splits `/v1.44/containers/json` into ("1.44", "/containers/json"); nil version when unversioned.
    /// A version outside minimum...current is refused as docker refuses it.
    static func split(_ path: String) throws(APIError) -> (version: String?, path: String) {
        guard path.hasPrefix("/v") else { return (nil, path) }
        let rest = path.dropFirst(2)
        guard let slash = rest.firstIndex(of: "/") else { return (nil, path) }
        let version = String(rest[..<slash])
        guard let parsed = parse(version) else { return (nil, path) }
        if parse(current)!.lexicographicallyPrecedes(parsed) {
            throw .badRequest("client version \(version) is too new. Maximum supported API version is \(current)")
        }
        if parsed.lexicographicallyPrecedes(parse(minimum)!) {
            throw .badRequest(
                "client version \(version) is too old. Minimum supported API version is \(minimum), please upgrade your client to a newer version"
            )
        }
        return (version, String(rest[slash...]))
    }

    static func parse(_ text: String) -> [Int]? {
        let parts = text.split(separator: ".").map { Int($0) }
        guard parts.count == 2, parts.allSatisfy({ $0 != nil }) else { return nil }
        return parts.map { $0! }
    }
}

/// JSON in and out of the API: docker's field names as they are (no key strategy).
enum APIJSON {
    static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        try JSONEncoding.encode(value)
    }

    /// A request body; an empty body decodes as `{}` (docker's clients send none for defaults).
    static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        let trimmed = bytes.drop { $0 == 0x20 || $0 == 0x0a || $0 == 0x0d || $0 == 0x09 }
        return try JSONDecoding.decode(type, from: trimmed.isEmpty ? Array("{}".utf8) : bytes)
    }
}

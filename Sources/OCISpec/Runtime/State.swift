/// The state of a container, as `runc state` prints it and hooks receive it on stdin.
public struct State: Codable, Sendable, Equatable {
    public var ociVersion: String
    public var id: String
    public var status: Status
    public var pid: Int32?
    public var bundle: String
    public var annotations: [String: String]?

    public init(
        ociVersion: String = Spec.version, id: String, status: Status, pid: Int32?, bundle: String,
        annotations: [String: String]? = nil
    ) {
        self.ociVersion = ociVersion
        self.id = id
        self.status = status
        self.pid = pid
        self.bundle = bundle
        self.annotations = annotations
    }

    /// The lifecycle states of the spec, plus `paused` as runc reports it.
    public enum Status: String, Codable, Sendable {
        case creating, created, running, stopped, paused
    }
}

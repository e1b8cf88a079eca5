import OCISpec

/// Where pulls and pushes report what they are doing, so the CLI can draw per-layer progress on
/// a terminal and print plain lines otherwise, and the engine can stay silent.
public protocol TransferProgress: Sendable {
    /// A line of news ("Resolved busybox to sha256:...").
    func message(_ text: String)
    /// A blob started, advanced or finished (`done` bytes of `total`).
    func update(_ digest: Digest, phase: TransferPhase, done: Int64, total: Int64)
}

/// The stages a layer goes through.
public enum TransferPhase: String, Sendable {
    case waiting = "Waiting"
    case downloading = "Downloading"
    case unpacking = "Unpacking"
    case uploading = "Uploading"
    case exists = "Already exists"
    case mounted = "Mounted"
    case done = "Done"
}

/// Reports nothing.
public struct SilentProgress: TransferProgress {
    public init() {}
    public func message(_ text: String) {}
    public func update(_ digest: Digest, phase: TransferPhase, done: Int64, total: Int64) {}
}

#if canImport(Glibc)
import Glibc
#endif
import Engine
import ImageStore
import LinuxSupport
import NIOHTTP1
import OCISpec
import Registry
import Synchronization

/// The Docker Engine API's endpoints over one Engine: every call is the same engine operation the
/// CLI makes, so containers made here show in `skiff ps` and the other way round.
public final class DockerService: Sendable {
    public let engine: Engine
    /// What `/version` and `/info` report as the engine's version.
    public let engineVersion: String
    public let defaultRegistry: String
    public let registryOptions: RegistryOptions
    /// Attach connections waiting for their container's start (`docker run` attaches first).
    let pendingAttachments = PendingAttachments()
    /// Exit codes of the containers this service started, as their monitors reported them: an
    /// --rm container's record is gone a few milliseconds after its exit, and `docker run --rm`
    /// asks for the code after that (wait?condition=removed).
    let exitCodes = Mutex<[String: Int32]>([:])
    let execInstances = ExecInstances()

    public init(
        engine: Engine, engineVersion: String, defaultRegistry: String = ImageReference.dockerHub,
        registryOptions: RegistryOptions = RegistryOptions()
    ) {
        self.engine = engine
        self.engineVersion = engineVersion
        self.defaultRegistry = defaultRegistry
        self.registryOptions = registryOptions
    }

    // MARK: - system

    func ping(_ call: Call) {
        let headers = [("Builder-Version", "1"), ("Cache-Control", "no-cache, no-store, must-revalidate"), ("Pragma", "no-cache")]
        if call.request.method == .HEAD {
            call.responder.send(status: .ok, headers: headers + [("Content-Type", "text/plain; charset=utf-8")], body: [], contentType: "")
        } else {
            call.responder.send(status: .ok, headers: headers, body: Array("OK".utf8), contentType: "text/plain; charset=utf-8")
        }
    }

    struct VersionResponse: Encodable {
        struct Component: Encodable {
            var Name: String
            var Version: String
            var Details: [String: String]
        }
        struct PlatformName: Encodable { var Name: String }
        var Platform: PlatformName
        var Components: [Component]
        var Version: String
        var ApiVersion: String
        var MinAPIVersion: String
        var GitCommit: String
        var GoVersion: String
        var Os: String
        var Arch: String
        var KernelVersion: String
        var BuildTime: String
    }

    func version(_ call: Call) {
        let info = engine.systemInfo(version: engineVersion)
        call.responder.sendJSON(
            VersionResponse(
                Platform: .init(Name: "skiff"),
                Components: [
                    .init(
                        Name: "Engine", Version: engineVersion,
                        Details: [
                            "ApiVersion": APIVersion.current, "MinAPIVersion": APIVersion.minimum, "Os": "linux",
                            "Arch": Self.goArch(info.Architecture), "KernelVersion": info.KernelVersion,
                        ])
                ],
                Version: engineVersion, ApiVersion: APIVersion.current, MinAPIVersion: APIVersion.minimum, GitCommit: "", GoVersion: "",
                Os: "linux", Arch: Self.goArch(info.Architecture), KernelVersion: info.KernelVersion, BuildTime: ""))
    }

    /// docker's architecture names (GOARCH).
    static func goArch(_ machine: String) -> String {
        switch machine {
        case "x86_64": return "amd64"
        case "aarch64": return "arm64"
        default: return machine
        }
    }

    struct InfoResponse: Encodable {
        struct Swarm: Encodable {
            var LocalNodeState = "inactive"
            var ControlAvailable = false
            var NodeID = ""
            var NodeAddr = ""
        }
        struct RuntimeEntry: Encodable { var path: String }
        var ID: String
        var Name: String
        var Containers: Int
        var ContainersRunning: Int
        var ContainersPaused: Int
        var ContainersStopped: Int
        var Images: Int
        var Driver: String
        var DockerRootDir: String
        var CgroupDriver: String
        var CgroupVersion: String
        var KernelVersion: String
        var OperatingSystem: String
        var OSType: String
        var Architecture: String
        var NCPU: Int
        var MemTotal: UInt64
        var SecurityOptions: [String]
        var ServerVersion: String
        var DefaultRuntime: String
        var Runtimes: [String: RuntimeEntry]
        var LoggingDriver: String
        var IndexServerAddress: String
        var Swarm: Swarm
        var Warnings: [String]
    }

    func info(_ call: Call) {
        let info = engine.systemInfo(version: engineVersion)
        var host = utsname()
        uname(&host)
        let hostname = withUnsafeBytes(of: &host.nodename) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        call.responder.sendJSON(
            InfoResponse(
                ID: "skiff", Name: hostname, Containers: info.Containers, ContainersRunning: info.ContainersRunning, ContainersPaused: 0,
                ContainersStopped: info.ContainersStopped + info.ContainersCreated, Images: info.Images, Driver: info.Driver,
                DockerRootDir: info.DockerRootDir, CgroupDriver: info.CgroupDriver,
                CgroupVersion: String(info.CgroupVersion.prefix { $0 != " " }),
                KernelVersion: info.KernelVersion, OperatingSystem: info.OperatingSystem, OSType: info.OSType,
                Architecture: info.Architecture, NCPU: info.NCPU, MemTotal: info.MemTotal, SecurityOptions: info.SecurityOptions,
                ServerVersion: engineVersion, DefaultRuntime: "skiff", Runtimes: ["skiff": .init(path: info.Runtime)],
                LoggingDriver: "json-file", IndexServerAddress: "https://index.docker.io/v1/", Swarm: Swarm(), Warnings: []))
    }
}

typealias Swarm = DockerService.InfoResponse.Swarm

/// Attach connections made before their container started, each waiting for the start to hand
/// it the monitor's attach connection (so no output is missed).
final class PendingAttachments: Sendable {
    private let waiting = Mutex<[String: [PendingAttachment]]>([:])

    func add(_ attachment: PendingAttachment, id: String) {
        waiting.withLock { $0[id, default: []].append(attachment) }
    }

    /// False when a start already took it (its outcome is on the way).
    @discardableResult
    func remove(_ attachment: PendingAttachment, id: String) -> Bool {
        waiting.withLock { waiting in
            guard let index = waiting[id]?.firstIndex(where: { $0 === attachment }) else { return false }
            waiting[id]?.remove(at: index)
            return true
        }
    }

    func take(id: String) -> [PendingAttachment] {
        waiting.withLock { $0.removeValue(forKey: id) ?? [] }
    }
}

/// One attach connection waiting for its container's start.
final class PendingAttachment: Sendable {
    /// The start's handle, which owns the monitor connection; `.started(nil)` when the start
    /// went to another attachment (this one then connects to the monitor itself).
    enum Outcome: @unchecked Sendable {  // StartHandle is a class the engine marks @unchecked Sendable itself.
        case waiting
        case started(Engine.StartHandle?)
        case failed
    }
    private let state = Mutex(Outcome.waiting)

    func deliver(_ outcome: Outcome) { state.withLock { $0 = outcome } }

    var outcome: Outcome { state.withLock { $0 } }
}

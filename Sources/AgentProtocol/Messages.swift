import JSON
import OCISpec

/// Host to agent, in a `request` frame whose channel is the request id. The agent answers each
/// with one `response` or `failure` frame on the same channel, in any order.
public enum AgentRequest: Codable, Equatable, Sendable {
    /// Assemble the container's root filesystem and network, then create its init process
    /// (stopped before exec, as `skiff-runtime create` does). `handle` names its stdio streams.
    case create(setup: ContainerSetup)
    /// Let the created init process exec.
    case start
    /// Run another process in the container (`skiff exec`); its stdio streams use `handle`, and
    /// with `stdin` the host sends its input (otherwise it reads /dev/null).
    case exec(handle: UInt32, process: Process, stdin: Bool)
    /// Send `signal` to a process (`handle`), or to every process of the container with `all`.
    case signal(handle: UInt32, signal: Int32, all: Bool)
    /// The terminal of a process changed size.
    case resize(handle: UInt32, rows: UInt16, columns: UInt16)
    /// A tar stream of `path` comes back as data on `handle` (`skiff cp` from the container);
    /// `followLink` (`cp -L`): a symlink at `path` is followed, inside the container's root, and
    /// its target copied under the link's name.
    case copyOut(handle: UInt32, path: String, followLink: Bool? = nil)
    /// The data the host sends on `handle` is a tar stream to unpack at `path` (`skiff cp` into it).
    case copyIn(handle: UInt32, path: String)
    /// The container's cgroup figures (`skiff stats`).
    case stats
    /// The processes of the container (`skiff top`), with ps arguments.
    case top(arguments: [String])
    /// New contents for the container's /etc/hosts (peers joined or left its network), written
    /// in place so the container's bind mount sees them.
    case updateHosts(hosts: String)
    /// Sync the filesystems and power the guest off.
    case shutdown
    /// A files-only boot (`skiff cp` of a stopped container): mount the container's root
    /// filesystem as `create` would, with no network, share or process; `copyIn`, `copyOut` and
    /// `stat` then work in it until `shutdown`.
    case mountRootfs(rootfs: GuestRootfs)
    /// What `path` is in the container (its last component not followed), for the Docker API's
    /// path stat (`docker cp` asks before it copies): a `pathStat`, or a `notFound` failure.
    case stat(path: String)
    /// A tar stream of the container's whole root filesystem (`export`) or of its changes as an
    /// OCI layer (`diff`, `commit`: whiteouts as `.wh.` entries) comes back on `handle`, as for
    /// `copyOut`.
    case export(handle: UInt32, files: ExportedFiles)
}

/// What an `export` request streams.
public enum ExportedFiles: String, Codable, Sendable {
    /// The root filesystem as the container sees it, without its mounts.
    case rootfs
    /// The container's changes to its image's files (the overlay's upper layer) as an OCI layer.
    case changes
}

/// Agent to host: the answer to one request.
public enum AgentResponse: Codable, Equatable, Sendable {
    case done
    /// The pid of a process created by `create` or `exec`, as seen in the guest.
    case process(pid: Int32)
    case stats(GuestStats)
    case table(titles: [String], rows: [[String]])
    case pathStat(GuestPathStat)
}

/// A path's lstat in the guest (`stat`), as the Docker API's X-Docker-Container-Path-Stat wants it.
public struct GuestPathStat: Codable, Equatable, Sendable {
    /// The path's last component ("/" for the root).
    public var name: String
    public var size: Int64
    /// st_mode: the type and permission bits.
    public var mode: UInt32
    public var modifiedSeconds: Int64
    public var modifiedNanoseconds: Int64
    /// A symlink's target as stored; empty otherwise.
    public var linkTarget: String

    public init(name: String, size: Int64, mode: UInt32, modifiedSeconds: Int64, modifiedNanoseconds: Int64, linkTarget: String) {
        self.name = name
        self.size = size
        self.mode = mode
        self.modifiedSeconds = modifiedSeconds
        self.modifiedNanoseconds = modifiedNanoseconds
        self.linkTarget = linkTarget
    }
}

/// Agent to host: why a request failed. `kind` lets the host choose docker's exit codes without
/// reading the message.
public struct AgentFailure: Codable, Equatable, Sendable, Error {
    public enum Kind: String, Codable, Sendable {
        /// The command is not in the image (exit 127).
        case executableNotFound
        /// The command cannot be executed (exit 126).
        case notExecutable
        /// The request named no such process or path.
        case notFound
        /// The request is well formed but cannot be done now (a second create, a start before create).
        case invalidState
        /// Anything else that went wrong in the guest (exit 125 on start).
        case failed
    }
    public var kind: Kind
    public var message: String

    public init(kind: Kind, message: String) {
        self.kind = kind
        self.message = message
    }
}

/// Agent to host, unasked.
public enum AgentEvent: Codable, Equatable, Sendable {
    /// A process ended: its exit code, or the signal that killed it.
    case exited(handle: UInt32, status: Int32, signal: Int32?)
    /// The guest's kernel killed a process for want of memory.
    case outOfMemory
}

/// Which stream of a process a data or close frame belongs to (its payload's first byte).
public enum StdioStream: UInt8, Sendable {
    case stdin = 0
    case stdout = 1
    case stderr = 2
    /// A tar stream of `copyIn`/`copyOut`.
    case archive = 3
}

/// Everything the agent needs to make the container inside the guest.
public struct ContainerSetup: Codable, Equatable, Sendable {
    /// The same config.json the process path would give skiff-runtime, root.path ignored.
    public var spec: Spec
    /// The handle of init's stdio streams.
    public var handle: UInt32
    /// Whether init gets a terminal.
    public var terminal: Bool
    /// Whether the host sends init's input (`-i`); otherwise it reads /dev/null.
    public var stdin: Bool
    public var rootfs: GuestRootfs
    public var network: GuestNetwork?
    /// Host directories and volumes shared over virtio-9p, by mount tag.
    public var shares: [GuestShare]

    public init(
        spec: Spec, handle: UInt32, terminal: Bool, stdin: Bool, rootfs: GuestRootfs, network: GuestNetwork? = nil,
        shares: [GuestShare] = []
    ) {
        self.spec = spec
        self.handle = handle
        self.terminal = terminal
        self.stdin = stdin
        self.rootfs = rootfs
        self.network = network
        self.shares = shares
    }
}

/// The image's layers as read-only block devices, lowest first, and the writable scratch disk
/// the agent formats on first use and mounts as the overlay's upper layer.
public struct GuestRootfs: Codable, Equatable, Sendable {
    public var layers: [GuestDisk]
    public var scratch: GuestDisk

    public init(layers: [GuestDisk], scratch: GuestDisk) {
        self.layers = layers
        self.scratch = scratch
    }
}

public struct GuestDisk: Codable, Equatable, Sendable {
    /// The virtio-blk serial the host gave the disk: the agent finds the device by it, not by
    /// its order of probing.
    public var serial: String
    /// "erofs" or "ext4".
    public var filesystem: String

    public init(serial: String, filesystem: String) {
        self.serial = serial
        self.filesystem = filesystem
    }
}

/// The container's network as the host's CNI plugins made it: the guest's NIC takes the
/// container's MAC and addresses, so published ports and name resolution work unchanged.
public struct GuestNetwork: Codable, Equatable, Sendable {
    public struct Interface: Codable, Equatable, Sendable {
        public var mac: String
        /// CIDR notation ("10.88.0.5/16").
        public var addresses: [String]
        public var mtu: Int

        public init(mac: String, addresses: [String], mtu: Int) {
            self.mac = mac
            self.addresses = addresses
            self.mtu = mtu
        }
    }
    public struct Route: Codable, Equatable, Sendable {
        /// CIDR, "0.0.0.0/0" for the default route.
        public var destination: String
        public var gateway: String

        public init(destination: String, gateway: String) {
            self.destination = destination
            self.gateway = gateway
        }
    }
    public var interfaces: [Interface]
    public var routes: [Route]
    /// The files the process path bind-mounts: /etc/hosts, /etc/resolv.conf, /etc/hostname.
    public var hosts: String
    public var resolvConf: String
    public var hostname: String

    public init(interfaces: [Interface], routes: [Route], hosts: String, resolvConf: String, hostname: String) {
        self.interfaces = interfaces
        self.routes = routes
        self.hosts = hosts
        self.resolvConf = resolvConf
        self.hostname = hostname
    }
}

/// A host directory (a bind mount or a volume) the guest mounts over virtio-9p at
/// `GuestPaths.share(tag)`, where the container's spec binds it from.
public struct GuestShare: Codable, Equatable, Sendable {
    public var tag: String
    public var readOnly: Bool

    public init(tag: String, readOnly: Bool) {
        self.tag = tag
        self.readOnly = readOnly
    }
}

/// The cgroup figures `skiff stats` shows, read inside the guest.
public struct GuestStats: Codable, Equatable, Sendable {
    public var cpuNanoseconds: UInt64
    public var memoryBytes: UInt64
    public var memoryLimitBytes: UInt64?
    public var pids: UInt64

    public init(cpuNanoseconds: UInt64, memoryBytes: UInt64, memoryLimitBytes: UInt64?, pids: UInt64) {
        self.cpuNanoseconds = cpuNanoseconds
        self.memoryBytes = memoryBytes
        self.memoryLimitBytes = memoryLimitBytes
        self.pids = pids
    }
}

/// Frames for messages and stream data, and messages from frames, with the checks a host needs
/// against a misbehaving agent (and the agent against a broken host).
public enum AgentMessages {
    public static func request(_ request: AgentRequest, id: UInt32) throws -> Frame {
        Frame(kind: .request, channel: id, payload: try JSONEncoding.encode(request))
    }

    public static func response(_ response: AgentResponse, id: UInt32) throws -> Frame {
        Frame(kind: .response, channel: id, payload: try JSONEncoding.encode(response))
    }

    public static func failure(_ failure: AgentFailure, id: UInt32) throws -> Frame {
        Frame(kind: .failure, channel: id, payload: try JSONEncoding.encode(failure))
    }

    public static func event(_ event: AgentEvent) throws -> Frame {
        Frame(kind: .event, payload: try JSONEncoding.encode(event))
    }

    /// Data frames for `bytes` of one stream, cut at `AgentWire.maxDataChunk`.
    public static func data(_ bytes: [UInt8], stream: StdioStream, handle: UInt32) -> [Frame] {
        stride(from: 0, to: bytes.count, by: AgentWire.maxDataChunk).map { offset in
            var payload: [UInt8] = [stream.rawValue]
            payload.append(contentsOf: bytes[offset..<min(offset + AgentWire.maxDataChunk, bytes.count)])
            return Frame(kind: .data, channel: handle, payload: payload)
        }
    }

    public static func close(stream: StdioStream, handle: UInt32) -> Frame {
        Frame(kind: .close, channel: handle, payload: [stream.rawValue])
    }

    /// The stream and bytes of a data frame, or the stream of a close frame.
    public static func stream(of frame: Frame) throws(AgentProtocolError) -> (StdioStream, ArraySlice<UInt8>) {
        guard frame.kind == .data || frame.kind == .close else { throw .unexpectedFrame(expected: "data or close", got: frame.kind) }
        guard let first = frame.payload.first, let stream = StdioStream(rawValue: first) else {
            throw .badMessage(kind: frame.kind, reason: "no valid stream byte (got \(frame.payload.first.map { "\($0)" } ?? "none"))")
        }
        if frame.kind == .close && frame.payload.count != 1 { throw .badMessage(kind: .close, reason: "a close frame carries data") }
        guard frame.payload.count - 1 <= AgentWire.maxDataChunk else {
            throw .badMessage(kind: .data, reason: "\(frame.payload.count - 1) bytes in one data frame, over \(AgentWire.maxDataChunk)")
        }
        return (stream, frame.payload.dropFirst())
    }

    public static func decode<T: Decodable>(_ type: T.Type, from frame: Frame, kind: FrameKind) throws(AgentProtocolError) -> T {
        guard frame.kind == kind else { throw .unexpectedFrame(expected: "\(kind)", got: frame.kind) }
        do {
            return try JSONDecoding.decode(type, from: frame.payload)
        } catch let error as DecodingError {
            throw .badMessage(kind: kind, reason: JSONDecoding.describe(error))
        } catch {
            throw .badMessage(kind: kind, reason: "\(error)")
        }
    }
}

/// Paths in the guest both sides agree on: the host writes them into the container's spec, the
/// agent puts the files there.
public enum GuestPaths {
    /// What the process path bind-mounts from the container's directory over /etc/hosts,
    /// /etc/resolv.conf and /etc/hostname: in the guest, files the agent writes from
    /// `GuestNetwork` (an empty one without a network).
    public static let hosts = "/run/skiff/etc/hosts"
    public static let resolvConf = "/run/skiff/etc/resolv.conf"
    public static let hostname = "/run/skiff/etc/hostname"

    /// Where the agent mounts the 9p share `tag` (a host directory or volume).
    public static func share(_ tag: String) -> String { "/run/skiff/shares/" + tag }
}

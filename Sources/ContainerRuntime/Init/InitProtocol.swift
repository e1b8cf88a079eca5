#if canImport(Glibc)
import Glibc
#endif
import LinuxSupport
import OCISpec

/// What the runtime tells its init stage: which container, which process, and what to set up.
struct InitConfig: Codable {
    enum Kind: String, Codable { case container, exec }
    var kind: Kind
    var id: String
    var bundle: String
    var rootfs: String
    var spec: Spec
    var process: Process
    var noPivot: Bool
    var noNewKeyring: Bool
    var newCgroupNamespace: Bool
    var newMountNamespace: Bool
    var newUTSNamespace: Bool
    var newUserNamespace: Bool
    /// A new network namespace (not one joined by path): init brings its loopback up, as crun
    /// does and as docker and podman users expect of `--network none` (a namespace joined by path
    /// is its maker's to configure).
    var newNetworkNamespace: Bool? = nil
    var cgroup: Cgroup?
    /// Descriptors that follow the config over the socket, in this order, when present.
    var hasMountNamespaceFD: Bool
    var hasConsoleSocket: Bool
    var hasExecFifo: Bool
    /// A memfd with the compiled seccomp program follows (`SeccompProgramCache`); without it,
    /// init compiles `spec.linux.seccomp` itself.
    var hasSeccompProgram: Bool? = nil
    /// Init moves itself into `cgroup`'s v1 hierarchies (`Cgroup.joinV1Hierarchies`): for a
    /// container once the runtime says they exist, for exec before it joins the mount namespace.
    var joinsV1Itself: Bool? = nil
    /// The rootfs directory, opened by the runtime through init's mount namespace, follows last:
    /// in a new user namespace init's root may not search the host directories above the rootfs
    /// (a store root with mode 0700), so it mounts and enters the rootfs through this descriptor.
    var hasRootfsFD: Bool? = nil
    /// Bind-mount sources opened the same way (for the same reason), their descriptors after
    /// the rootfs's in this order: init mounts from the descriptor instead of the path.
    var bindSourceFDPaths: [String]? = nil
    /// The AppArmor profile the program runs under (`SecurityModules.check` said the host can).
    var appArmorProfile: String? = nil
    /// Set when the container has no mount namespace of its own (linux.namespaces has no
    /// "mount": it shares the runtime's). A container's init binds the rootfs here, in the
    /// runtime's namespace, builds the mounts below it and chroots into it; an exec chroots into
    /// it after joining. `StateStore.releaseRootfsMountPoint` detaches it at delete.
    var rootfsMountPoint: String? = nil
}

/// The messages between the runtime and its init stage.
enum InitMessage: Codable {
    case config(InitConfig)
    /// The container's cgroup directories exist with their limits: cgroups can be bind-mounted.
    case cgroupCreated
    /// The init stage is in its cgroup: it may create a cgroup namespace, run hooks, exec.
    case cgroupReady
    /// Init has set up the mounts: the runtime runs prestart and createRuntime hooks now.
    case runHooks
    case hooksDone
    case hookFailed(String)
    /// Init is ready: for a container, it now waits for `start`; for exec, it executes at once.
    case ready
    /// Init failed; `execFailure` says why when it is the program that cannot be started.
    case failed(String, execFailure: ExecFailure? = nil)
}

/// A length-prefixed JSON message stream over the init socket.
struct InitChannel {
    let fd: Int32

    func send(_ message: InitMessage) throws {
        let body = try RuntimeJSON.encode(message)
        var length = UInt32(body.count).bigEndian
        let header = withUnsafeBytes(of: &length) { Array($0) }
        try FileIO.writeAll(fd: fd, header + body, what: "init socket")
    }

    func receive() throws -> InitMessage {
        let header = try Descriptors.readExactly(fd, 4, what: "init socket")
        let length = header.reduce(0) { ($0 << 8) | Int($1) }
        guard length < 64 << 20 else { throw RuntimeError.initFailed("init socket: message too large (\(length) bytes)") }
        let body = try Descriptors.readExactly(fd, length, what: "init socket")
        return try RuntimeJSON.decode(InitMessage.self, from: body)
    }

    func sendFDs(_ fds: [Int32]) throws {
        try Descriptors.send(fds: fds, over: fd)
    }

    func receiveFDs(count: Int) throws -> [Int32] {
        guard count > 0 else { return [] }
        let (fds, _) = try Descriptors.receive(from: fd, max: count)
        guard fds.count == count else {
            throw RuntimeError.initFailed("init socket: expected \(count) descriptors, got \(fds.count)")
        }
        return fds
    }
}

#if canImport(Glibc)
import Glibc
#endif
import CShim
import LinuxSupport
import OCISpec

/// Starts the init stage of a container or exec process: the C shim clones it into the requested
/// namespaces and it re-executes this binary as `skiff-runtime init`, through a
/// `ProtectedExecutable` so nothing in the container can write to the host's binary; we answer
/// its user-namespace handshake and learn its pid.
struct InitSpawner {
    /// Namespace types whose clone flag creates them at clone time (mount is joined in Swift).
    static let cloneFlags: [NamespaceType: Int32] = [
        .pid: NamespaceFlags.pid, .network: NamespaceFlags.network, .mount: NamespaceFlags.mount, .ipc: NamespaceFlags.ipc,
        .uts: NamespaceFlags.uts, .user: NamespaceFlags.user, .cgroup: NamespaceFlags.cgroup, .time: NamespaceFlags.time,
    ]

    struct Spawned {
        var pid: Int32
        var channel: InitChannel
        /// Whether the kernel started init in the cgroup passed as `cgroupFD` (else: move it there).
        var placedInCgroup: Bool
    }

    /// - Parameters:
    ///   - create: namespaces to create at clone time (not user: `newUser`; not cgroup: init does it).
    ///   - join: namespace files to join before cloning (mount excluded: init joins it itself).
    ///   - spareLayer: an existing directory (the state root) that overlayfs takes as the second,
    ///     unused lower layer of the read-only view of the binary (see `ProtectedExecutable`).
    ///   - cgroupFD: an open cgroup2 directory to start init in (clone3 CLONE_INTO_CGROUP), or -1.
    ///   - newTime: a new time namespace (unshared, not cloned), its clocks offset by `timeOffsets`.
    static func spawn(
        create: [NamespaceType], newUser: Bool, join: [(NamespaceType, String)],
        uidMappings: [IDMapping], gidMappings: [IDMapping], preserveFDs: Int, executable: String? = nil, spareLayer: String,
        cgroupFD: Int32 = -1, newTime: Bool = false, timeOffsets: [String: TimeOffset] = [:]
    ) throws -> Spawned {
        let binary = executable ?? "/proc/self/exe"
        let (parentEnd, childEnd) = try Descriptors.socketPair()
        var joinFDs: [skiff_ns_join] = []
        defer {
            close(childEnd)
            for j in joinFDs { close(j.fd) }
        }
        do {
            for (type, path) in join {
                let fd = skiff_open(path, O_RDONLY | O_CLOEXEC, 0)
                if fd < 0 {
                    throw RuntimeError.invalidConfig(
                        "cannot open the \(type.rawValue) namespace \(path): \(SystemError("open").description.dropFirst(6))")
                }
                joinFDs.append(skiff_ns_join(fd: fd, nstype: cloneFlags[type] ?? 0))
            }
            // Never the host file itself: a read-only overlay view or a sealed copy of it.
            let protected = try ProtectedExecutable.open(binary, spareLayer: spareLayer)

            let target = Int32(3 + preserveFDs)
            let argv = CStringArray(["skiff-runtime", "init"])
            let envp = CStringArray(["_SKIFF_INIT_FD=\(target)"] + (RuntimeTrace.enabled ? ["SKIFF_RUNTIME_TRACE=1"] : []))
            let flags = create.filter { $0 != .time }.reduce(Int32(0)) { $0 | (cloneFlags[$1] ?? 0) }
            let offsets = timeOffsets.keys.sorted().map { clock in
                "\(clock) \(timeOffsets[clock]?.secs ?? 0) \(timeOffsets[clock]?.nanosecs ?? 0)\n"
            }.joined()
            let intermediate: pid_t = joinFDs.withUnsafeBufferPointer { joins in
                binary.withCString { path in
                    offsets.withCString { offsetText in
                        var args = skiff_spawn_args(
                            path: path, exe_fd: protected.fd, argv: argv.pointers, envp: envp.pointers,
                            clone_flags: flags, new_user_ns: newUser ? 1 : 0,
                            joins: joins.baseAddress, njoins: Int32(joins.count),
                            sync_fd: childEnd, sync_fd_target: target, keep_fds_below: target,
                            new_time_ns: newTime ? 1 : 0, time_offsets: offsetText, cgroup_fd: cgroupFD)
                        return withExtendedLifetime((argv, envp)) { skiff_spawn(&args) }
                    }
                }
            }
            guard intermediate > 0 else { throw RuntimeError.system(SystemError("clone")) }
            let pid: Int32
            let placed: Bool
            do {
                (pid, placed) = try handshake(parentEnd, intermediate: intermediate, uidMappings: uidMappings, gidMappings: gidMappings)
            } catch {
                kill(intermediate, SIGKILL)
                Processes.wait(intermediate)
                throw error
            }
            Processes.wait(intermediate)
            return Spawned(pid: pid, channel: InitChannel(fd: parentEnd), placedInCgroup: placed)
        } catch {
            close(parentEnd)
            throw error
        }
    }

    private static func handshake(_ fd: Int32, intermediate: pid_t, uidMappings: [IDMapping], gidMappings: [IDMapping]) throws -> (
        pid: Int32, placedInCgroup: Bool
    ) {
        while true {
            let tag = try Descriptors.readExactly(fd, 1, what: "spawn handshake")[0]
            switch tag {
            case UInt8(ascii: "U"):
                try writeMappings(pid: intermediate, uid: uidMappings, gid: gidMappings)
                try FileIO.writeAll(fd: fd, [1], what: "spawn handshake")
            case UInt8(ascii: "P"):
                let bytes = try Descriptors.readExactly(fd, 5, what: "spawn handshake")
                return (bytes.withUnsafeBytes { $0.loadUnaligned(as: Int32.self) }, bytes[4] == 1)
            case UInt8(ascii: "E"):
                let bytes = try Descriptors.readExactly(fd, 8, what: "spawn handshake")
                let stage = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 0, as: Int32.self) }
                let code = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 4, as: Int32.self) }
                throw RuntimeError.initFailed(describe(stage: stage, errno: code))
            default:
                throw RuntimeError.initFailed("container set-up: unexpected handshake byte \(tag)")
            }
        }
    }

    private static func describe(stage: Int32, errno code: Int32) -> String {
        let reason = String(cString: strerror(code))
        switch stage {
        case 1: return "cannot join a namespace given in config.json: \(reason)"
        case 2: return "cannot create a user namespace: \(reason)"
        case 3: return "user namespace set-up was interrupted: \(reason)"
        case 4: return "cannot create the container's namespaces: \(reason)"
        case 5: return "cannot start the container's init stage: \(reason)"
        case 6: return "cannot become root in the new user namespace (is uid 0 mapped?): \(reason)"
        case 7: return "cannot create the time namespace or set linux.timeOffsets (does this kernel have CONFIG_TIME_NS?): \(reason)"
        default: return "container set-up failed: \(reason)"
        }
    }

    static func writeMappings(pid: Int32, uid: [IDMapping], gid: [IDMapping]) throws {
        guard !uid.isEmpty, !gid.isEmpty else {
            throw RuntimeError.invalidConfig("a new user namespace needs linux.uidMappings and linux.gidMappings")
        }
        do {
            try FileIO.writeExisting("/proc/\(pid)/uid_map", IDMapFile.text(uid))
            try FileIO.writeExisting("/proc/\(pid)/gid_map", IDMapFile.text(gid))
        } catch {
            throw RuntimeError.invalidConfig(
                "cannot write the user namespace id mappings (\(error)): check linux.uidMappings and linux.gidMappings")
        }
    }
}

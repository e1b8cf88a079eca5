#if canImport(Glibc)
import Glibc
#endif
import AgentProtocol
import CArchive
import CShim
import ContainerRuntime
import ImageStore
import LinuxSupport

/// `cp`, `top` and `stats` of a micro-VM container: its files and processes are in the guest, so
/// each is a session on its monitor's `exec.sock` (`SessionRequest`), which the monitor passes to
/// the agent. The host keeps the tar rules: what the guest sends is unpacked on the host under
/// `TarEntryPolicy` (the guest is hostile to the host), and what goes to the guest is first read
/// and re-written under the policy, so the agent only ever sees planned entries (and still opens
/// every path inside the container's root).
extension Engine {
    /// Runs `body` on a session with the guest of `record`, `request` sent: on the running
    /// container's monitor (`exec.sock`); for the files of a stopped one (`cp`, the path stat), on
    /// a files-only boot of its VM (`MicroVMFilesBoot`), which is gone when this returns.
    func withMicroVMSession<T>(_ record: EngineContainer, _ request: SessionRequest, action: String, _ body: (Int32) throws -> T) throws
        -> T
    {
        let files: Bool
        switch request {
        case .copyIn, .copyOut, .stat, .export: files = true
        case .exec, .stats, .top: files = false
        }
        let directory = store.directory(for: record.id)
        let deadline = MonotonicClock.seconds() + 30
        while true {
            // Loaded again each round: the container may start while this waits for its disks.
            let current = try store.load(id: record.id)
            if liveStatus(current).isRunning {
                let socket = OwnedFD(try AttachSocket.connect(directory: directory, name: AttachSocket.execName))
                try MicroVMSession.write(socket.raw, AttachFrame.exec(try RuntimeJSON.encode(request)))
                return try body(socket.raw)
            }
            guard files, let settings = current.vm else {
                throw EngineError.wrongState(
                    container: record.name, status: "not running (its processes are in its micro-VM, which is off)", action: action)
            }
            // A files-only boot of this process may be lingering for the next request.
            if let result = try withLingeringFilesOnlyBoot(record.id, request, body) { return result }
            // Held, no VM runs on the container's disks and none starts until this one is gone.
            if let lock = try MicroVMDiskLock.tryAcquire(containerDirectory: directory) {
                let linger = MicroVMFilesBoot.lingerSeconds.withLock { $0 }
                let boot = try MicroVMFilesBoot(engine: self, record: current, settings: settings, lock: lock, linger: linger)
                let result = Result { () throws -> T in
                    defer { close(boot.first) }
                    try MicroVMSession.write(boot.first, AttachFrame.exec(try RuntimeJSON.encode(request)))
                    return try body(boot.first)
                }
                if linger > 0, case .success = result {
                    MicroVMFilesBoot.lingering.withLock { $0[record.id] = boot }
                } else {
                    // A boot that failed is the reason the session broke off.
                    boot.end()
                    try boot.finish()
                }
                return try result.get()
            }
            guard MonotonicClock.seconds() < deadline else {
                throw EngineError.wrongState(
                    container: record.name, status: "busy: another VM has held its disks for 30 s (a `skiff cp` of it, or a start)",
                    action: action)
            }
            usleep(50_000)
        }
    }

    /// `body` on a session of a files-only boot of `id` lingering in this process; nil when there
    /// is none (boots that are over are forgotten on the way).
    private func withLingeringFilesOnlyBoot<T>(_ id: String, _ request: SessionRequest, _ body: (Int32) throws -> T) throws -> T? {
        let over = MicroVMFilesBoot.lingering.withLock { boots -> [MicroVMFilesBoot] in
            let gone = boots.filter { $0.value.isOver }
            for key in gone.keys { boots[key] = nil }
            return Array(gone.values)
        }
        for boot in over { try? boot.finish() }
        guard let boot = MicroVMFilesBoot.lingering.withLock({ $0[id] }), let client = try boot.connect() else { return nil }
        defer { close(client) }
        try MicroVMSession.write(client, AttachFrame.exec(try RuntimeJSON.encode(request)))
        return try body(client)
    }

    /// Whether `path` of the stopped `record` is under one of its volumes or directory binds,
    /// whose host directory the copy then uses, as for a process container: no boot needed.
    func stoppedMicroVMPathInVolume(_ record: EngineContainer, path: String) -> Bool {
        !liveStatus(record).isRunning && volumeRoot(for: record, path: path) != nil
    }

    /// `stats` of a micro-VM container: the guest's cgroup of the container, through its agent.
    func microVMSample(_ record: EngineContainer) throws -> CgroupSample {
        var output: [UInt8] = []
        try withMicroVMSession(record, .stats, action: "show the stats of") { socket in
            try MicroVMSession.finish(socket, record: record) { output += $0 }
        }
        let stats = try RuntimeJSON.decode(GuestStats.self, from: output)
        return CgroupSample(
            cpuNanoseconds: stats.cpuNanoseconds, memoryUsage: stats.memoryBytes, memoryLimit: stats.memoryLimitBytes,
            pids: stats.pids, pidsLimit: nil)
    }

    /// `top` of a micro-VM container: the agent's table, aligned as ps prints it.
    func microVMTop(_ record: EngineContainer, psArguments: [String]) throws -> [String] {
        var output: [UInt8] = []
        try withMicroVMSession(record, .top(arguments: psArguments), action: "list the processes of") { socket in
            try MicroVMSession.finish(socket, record: record) { output += $0 }
        }
        let table = try RuntimeJSON.decode(SessionTable.self, from: output)
        let all = [table.titles] + table.rows
        var widths: [Int] = []
        for row in all {
            for (index, cell) in row.enumerated() {
                if widths.count <= index { widths.append(0) }
                widths[index] = max(widths[index], cell.count)
            }
        }
        return all.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[index] - cell.count)
            }.joined(separator: " ")
        }
    }

    /// `cp CONTAINER:PATH HOSTPATH`: the guest's tar stream of `path`, unpacked on the host with
    /// docker's naming (into an existing directory, else as the destination path itself).
    func copyOutOfMicroVM(_ record: EngineContainer, path: String, to destination: String, options: CopyOptions) throws {
        var st = stat()
        let directory: String
        var rename: String?
        if stat(destination, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR {
            directory = destination
        } else {
            if destination.hasSuffix("/") {
                throw EngineError.invalidOption("destination directory \(destination) does not exist: create it first")
            }
            let parts = destination.split(separator: "/", omittingEmptySubsequences: false)
            let parent = parts.count > 1 ? parts.dropLast().joined(separator: "/") : "."
            directory = parent.isEmpty ? "/" : parent
            rename = String(parts.last ?? "")
        }
        let targetFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard targetFD >= 0 else {
            throw EngineError.invalidOption("destination directory \(directory) does not exist: create it first")
        }
        defer { close(targetFD) }
        try withMicroVMSession(record, .copyOut(path: path, followLink: options.followLink), action: "copy files from") { socket in
            // The unpacking reads a socket pair on a thread while this one feeds it what the session brings.
            let (ours, theirs) = try Descriptors.socketPair()
            let policy = TarEntryPolicy.copyOutOfContainer(archive: options.archive, owner: TarEntryOwner(uid: getuid(), gid: getgid()))
            let unpacking = BackgroundThread<Void> { [rename] in
                defer { close(theirs) }
                try TarStream.extract(from: theirs, into: targetFD, policy: policy, rename: rename)
            }
            var feeding = true
            let sessionResult = Result {
                try MicroVMSession.finish(socket, record: record) { bytes in
                    if feeding && !MicroVMSession.send(ours, bytes) { feeding = false }
                }
            }
            close(ours)
            let unpacked = Result { try unpacking.value() }
            try sessionResult.get()
            try unpacked.get()
        }
    }

    /// `cp CONTAINER:PATH -`: the guest's tar stream of `path` as it comes.
    func copyOutTarOfMicroVM(_ record: EngineContainer, path: String, to fd: Int32, options: CopyOptions) throws {
        try withMicroVMSession(record, .copyOut(path: path, followLink: options.followLink), action: "copy files from") { socket in
            try MicroVMSession.finish(socket, record: record) { try FileIO.writeAll(fd: fd, $0, what: "the tar stream") }
        }
    }

    /// `cp HOSTPATH CONTAINER:PATH`: the host's files as a tar stream (`TarStream.write`), read
    /// back under the policy and sent to the guest, which names it as docker does.
    func copyIntoMicroVM(
        _ record: EngineContainer, sourceDirectory directory: Int32, sourceName: String, archiveName: String, path: String,
        options: CopyOptions
    ) throws {
        try withMicroVMSession(record, .copyIn(path: path), action: "copy files to") { socket in
            let (ours, theirs) = try Descriptors.socketPair()
            let writing = BackgroundThread<Void> {
                defer { close(theirs) }
                try TarStream.write(from: directory, sourceName, as: archiveName, to: theirs, hostSafe: false)
            }
            let sent = Result {
                try MicroVMSession.sendArchive(from: ours, to: socket, policy: .copyIntoContainer(archive: options.archive))
            }
            close(ours)
            let written = Result { try writing.value() }
            let session = Result { try MicroVMSession.finish(socket, record: record) { _ in } }
            try session.get()
            try written.get()
            try sent.get()
        }
    }

    /// `cp - CONTAINER:DIR`: the caller's tar stream, read under the policy and sent to the guest,
    /// which unpacks it into the existing directory `path`.
    func copyInTarToMicroVM(_ record: EngineContainer, from fd: Int32, path: String, options: CopyOptions) throws {
        try withMicroVMSession(record, .copyIn(path: path.hasSuffix("/") ? path : path + "/"), action: "copy files to") { socket in
            let sent = Result { try MicroVMSession.sendArchive(from: fd, to: socket, policy: .copyIntoContainer(archive: options.archive)) }
            try MicroVMSession.finish(socket, record: record) { _ in }
            try sent.get()
        }
    }
}

extension Engine {
    /// `statPath` of a micro-VM container: the agent's lstat in the guest; nil when nothing is there.
    func statPathInMicroVM(_ record: EngineContainer, path: String) throws -> PathStat? {
        var output: [UInt8] = []
        try withMicroVMSession(record, .stat(path: path), action: "look at the files of") { socket in
            try MicroVMSession.finish(socket, record: record) { output += $0 }
        }
        return try RuntimeJSON.decode(PathStat?.self, from: output)
    }
}

extension Engine {
    /// `export` of a micro-VM container: the guest's tar of its root filesystem (its changes on
    /// the image's files, without its mounts), written to `fd` as it comes, as `cp CONTAINER:/ -`
    /// passes the guest's tar on.
    public func exportMicroVMRootfs(_ record: EngineContainer, to fd: Int32) throws {
        try withMicroVMSession(record, .export(files: .rootfs), action: "export") { socket in
            try MicroVMSession.finish(socket, record: record) { try FileIO.writeAll(fd: fd, $0, what: "the tar stream") }
        }
    }

    /// The changes of a micro-VM container to its image's files as an OCI layer tar (whiteouts
    /// as `.wh.` entries), written to `fd` as the guest sends it: hostile input, which `diff`
    /// only lists and `commit` stores as a layer the image store unpacks under its layer rules.
    /// At most `changesLimit` bytes: the host keeps them in its own store (diff, commit), and a
    /// guest cannot have more changes than its scratch disk holds.
    public func microVMChanges(_ record: EngineContainer, to fd: Int32) throws {
        let limit = Self.changesLimit(scratchAllocatedBytes: Self.allocatedBytes(store.directory(for: record.id) + "/scratch.ext4"))
        var sent: UInt64 = 0
        try withMicroVMSession(record, .export(files: .changes), action: "read the changes of") { socket in
            try MicroVMSession.finish(socket, record: record) { bytes in
                sent += UInt64(bytes.count)
                guard sent <= limit else {
                    throw EngineError.invalidOption(
                        "the guest of container \(record.name) sent more than \(limit) bytes of changes, more than its scratch disk can hold: refused"
                    )
                }
                try FileIO.writeAll(fd: fd, bytes, what: "the changes")
            }
        }
    }

    /// The most a layer tar of changes written on a scratch disk with `scratchAllocatedBytes` in
    /// use can take: every file's data padded to 512 bytes and a header (two for a long name)
    /// per entry, where ext4 spends at least an inode; four times the disk's use and 256 MiB more
    /// cover that with room to spare.
    static func changesLimit(scratchAllocatedBytes: UInt64) -> UInt64 {
        scratchAllocatedBytes.multipliedReportingOverflow(by: 4).partialValue + (256 << 20)
    }

    /// The bytes a (sparse) file has on disk; 0 when it cannot be read.
    static func allocatedBytes(_ path: String) -> UInt64 {
        var st = stat()
        guard stat(path, &st) == 0 else { return 0 }
        return UInt64(st.st_blocks) * 512
    }
}

/// The client's side of a session on a micro-VM container's `exec.sock`.
enum MicroVMSession {
    /// Writes a frame without SIGPIPE (the `skiff` command does not ignore it).
    static func write(_ socket: Int32, _ frame: AttachFrame) throws {
        guard send(socket, frame.encoded()) else { throw SystemError("write to the container's monitor") }
    }

    /// Writes all of `bytes` to a socket; false when the peer is gone.
    static func send(_ socket: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            offset += n
        }
        return true
    }

    /// Reads the session to its exit frame: stdout goes to `output`; a non-zero exit throws with
    /// what the monitor or the agent said on stderr.
    static func finish(_ socket: Int32, record: EngineContainer, output: ([UInt8]) throws -> Void) throws {
        var decoder = AttachFrameDecoder()
        var errors: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            while let frame = try decoder.next() {
                switch frame {
                case .stdout(let bytes): try output(bytes)
                case .stderr(let bytes): errors += bytes
                case .exit(let code):
                    guard code == 0 else {
                        var message = String(decoding: errors, as: UTF8.self).trimmed
                        if message.hasPrefix("skiff: ") { message.removeFirst("skiff: ".count) }
                        throw EngineError.invalidOption(
                            message.isEmpty ? "the guest of container \(record.name) failed (\(code))" : message)
                    }
                    return
                default: break
                }
            }
            let n = read(socket, &buffer, buffer.count)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                throw EngineError.startFailed("the monitor of container \(record.name) closed the session without an answer")
            }
            decoder.append(buffer[0..<n])
        }
    }

    /// Reads the tar stream on `fd` with libarchive, plans each entry with `policy`, and sends the
    /// planned entries (`ArchiveFormat`) as the session's stdin, then its end. Returns early, with
    /// no error, when the monitor stops taking input: the session's answer says why.
    static func sendArchive(from fd: Int32, to socket: Int32, policy: TarEntryPolicy) throws {
        guard let archive = archive_read_new() else { throw EngineError.startFailed("libarchive: out of memory") }
        defer { archive_read_free(archive) }
        archive_read_support_format_tar(archive)
        archive_read_support_filter_all(archive)
        guard archive_read_open_fd(archive, fd, 1 << 16) == ARCHIVE_OK else {
            throw EngineError.invalidOption("cannot read the tar stream: \(TarStream.message(archive))")
        }
        var pending: [UInt8] = []
        func flush(force: Bool) -> Bool {
            guard force || pending.count >= 1 << 16 else { return true }
            defer { pending.removeAll(keepingCapacity: true) }
            return pending.isEmpty || send(socket, AttachFrame.stdin(pending).encoded())
        }
        var entry: OpaquePointer?
        while true {
            let status = archive_read_next_header(archive, &entry)
            if status == ARCHIVE_EOF { break }
            if status == ARCHIVE_RETRY { continue }
            guard status == ARCHIVE_OK || status == ARCHIVE_WARN, let entry else {
                throw EngineError.invalidOption("not a valid tar stream: \(TarStream.message(archive))")
            }
            guard let fields = TarEntryFields(entry) else {
                throw EngineError.invalidOption("the tar stream has an entry without a name (or one that is not text): refused")
            }
            let plan: TarEntryPlan
            do { plan = try policy.plan(fields) } catch {
                throw EngineError.invalidOption("the tar stream's \(error): refused")
            }
            var planned = ArchiveEntry(
                path: plan.path?.full ?? ".", type: .directory,
                mode: UInt32(plan.mode), uid: plan.owner?.uid ?? 0, gid: plan.owner?.gid ?? 0, mtime: Int64(archive_entry_mtime(entry)))
            switch plan.kind {
            case .directory: break
            case .regular(let size):
                planned.type = .regular
                planned.size = UInt64(size)
            case .symlink(let target):
                planned.type = .symlink
                planned.linkTarget = target
            case .hardlink(let target):
                planned.type = .hardlink
                planned.linkTarget = target.full
            case .device(let type, let device):
                planned.type = type == S_IFCHR ? .characterDevice : .blockDevice
                planned.deviceMajor = skiff_major(UInt64(device))
                planned.deviceMinor = skiff_minor(UInt64(device))
            case .fifo: planned.type = .fifo
            case .skipped, .whiteout, .opaqueDirectory: continue
            }
            pending += ArchiveFormat.header(planned)
            if planned.type == .regular {
                var left = planned.size
                var buffer = [UInt8](repeating: 0, count: 1 << 16)
                while left > 0 {
                    let n = buffer.withUnsafeMutableBytes { archive_read_data(archive, $0.baseAddress, $0.count) }
                    guard n > 0 else {
                        throw EngineError.invalidOption("the tar stream is truncated at \(fields.name): \(TarStream.message(archive))")
                    }
                    let count = Int(min(UInt64(n), left))
                    pending += buffer[0..<count]
                    left -= UInt64(count)
                    guard flush(force: false) else { return }
                }
                pending += [UInt8](repeating: 0, count: ArchiveFormat.padding(after: planned.size))
            }
            guard flush(force: false) else { return }
        }
        pending += ArchiveFormat.endOfArchive
        guard flush(force: true) else { return }
        _ = send(socket, AttachFrame.closeStdin.encoded())
    }
}

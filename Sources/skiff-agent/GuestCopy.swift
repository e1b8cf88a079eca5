#if canImport(Glibc)
import Glibc
#endif
import AgentProtocol
import CShim
import LinuxSupport

/// A `copyOut` or `copyIn` in progress (`skiff cp` of a micro-VM container): a thread writes the
/// tar stream of a path into a pipe the agent's loop reads and sends on (out), or unpacks the one
/// the loop feeds it from the host's data frames (in). Paths are resolved inside the container's
/// root as its init sees it (/proc/PID/root: its mounts and volumes included) with `ConfinedOpen`
/// (RESOLVE_IN_ROOT), and every entry is created one component at a time beneath its target
/// directory, never through a symlink.
final class GuestCopy {
    let requestID: UInt32
    let handle: UInt32
    /// out: the archive pipe's read end; in: the read end of a pipe the thread closes when done.
    private var watched: Int32
    /// in: the archive on its way to the thread.
    private var input: PendingInput
    private let work: BackgroundThread<Void>
    /// The most of the host's archive that may wait for the thread. The loop keeps reading the
    /// host's stream whatever waits (were it to stop, its own output could block on a host that
    /// blocks writing to it); a copy whose backlog passes this fails instead of filling the
    /// guest's memory. The transport is far slower than a disk, so a copy does not get near it.
    static let maximumPending = 64 << 20
    private var overflowed = false

    /// The host sends an archive (`copyIn`), rather than receiving one.
    private let isCopyIn: Bool

    private init(requestID: UInt32, handle: UInt32, watched: Int32, input: Int32, work: BackgroundThread<Void>) {
        isCopyIn = input >= 0
        self.requestID = requestID
        self.handle = handle
        self.watched = watched
        self.input = PendingInput(fd: input, isTerminal: false)
        self.work = work
        _ = fcntl(watched, F_SETFL, fcntl(watched, F_GETFL) | O_NONBLOCK)
        if input >= 0 { _ = fcntl(input, F_SETFL, fcntl(input, F_GETFL) | O_NONBLOCK) }
    }

    deinit {
        if watched >= 0 { close(watched) }
        if input.fd >= 0 { close(input.fd) }
    }

    /// What `path` names in the container whose root is `root`: its parent directory (opened
    /// inside the root; the caller closes it), its last name ("." for the root or a trailing
    /// ".."), the path's names, and its lstat; a `notFound` failure when nothing is there.
    private static func existing(_ path: String, root: String) throws -> (directory: Int32, name: String, parts: [String], stat: stat) {
        let rootFD = try OwnedFD("open the container's root \(root)") { open(root, ConfinedOpen.oPath | O_DIRECTORY | O_CLOEXEC) }
        let parts = path.split(separator: "/").map(String.init).filter { $0 != "." }
        let directory: Int32
        let name: String
        if let last = parts.last, last != ".." {
            directory = try openDirectory("/" + parts.dropLast().joined(separator: "/"), in: rootFD.raw, path: path)
            name = last
        } else {
            directory = try openDirectory(path, in: rootFD.raw, path: path)
            name = "."
        }
        guard let st = lstatAt(directory, name) else {
            close(directory)
            throw AgentFailure(kind: .notFound, message: "no such file or directory in the container: \(path)")
        }
        return (directory, name, parts, st)
    }

    /// Starts the tar stream of `path` in the container whose root is `root`; it names its top
    /// entry after the path's last name ("." for `DIR/.`, which stands for the contents).
    /// `followLink`: a symlink at the path is followed inside the root, its target named as the link.
    static func copyOut(requestID: UInt32, handle: UInt32, root: String, path: String, followLink: Bool = false) throws -> GuestCopy {
        var resolved = path
        if followLink {
            let rootFD = try OwnedFD("open the container's root \(root)") { open(root, ConfinedOpen.oPath | O_DIRECTORY | O_CLOEXEC) }
            resolved = try ConfinedOpen.followingLinks(path, in: rootFD.raw)
        }
        let (directory, name, parts, st) = try existing(resolved, root: root)
        if path.hasSuffix("/") && (st.st_mode & S_IFMT) != S_IFDIR {
            close(directory)
            throw AgentFailure(kind: .notFound, message: "\(path) in the container is not a directory")
        }
        let named = path.split(separator: "/").map(String.init).filter { $0 != "." }.last.map { $0 == ".." ? name : $0 } ?? name
        let archiveName = path.hasSuffix("/.") || parts.isEmpty ? "." : (followLink ? named : name)
        let (readEnd, writeEnd) = try Descriptors.pipe()
        let work = BackgroundThread<Void> {
            defer {
                close(writeEnd)
                close(directory)
            }
            try GuestArchive.write(directory, name, as: archiveName, to: writeEnd)
            try FileIO.writeAll(fd: writeEnd, ArchiveFormat.endOfArchive, what: "the archive")
        }
        return GuestCopy(requestID: requestID, handle: handle, watched: readEnd, input: -1, work: work)
    }

    /// `stat` of `path` in the container whose root is `root`: its parent resolved inside the
    /// root, its last component not followed (what `docker cp` asks before it copies).
    static func pathStat(root: String, path: String) throws -> GuestPathStat {
        let (directory, name, parts, st) = try existing(path, root: root)
        defer { close(directory) }
        var target = ""
        if st.st_mode & S_IFMT == S_IFLNK {
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = readlinkat(directory, name, &buffer, buffer.count - 1)
            if n > 0 { target = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        }
        return GuestPathStat(
            name: parts.last ?? "/", size: Int64(st.st_size), mode: UInt32(st.st_mode), modifiedSeconds: Int64(st.st_mtim.tv_sec),
            modifiedNanoseconds: Int64(st.st_mtim.tv_nsec), linkTarget: target)
    }

    /// Starts the tar stream of everything in `directory` (the container's root filesystem, or its
    /// changes `asLayer`: whiteouts and opaque directories as the OCI layer format writes them).
    static func export(requestID: UInt32, handle: UInt32, directory path: String, asLayer: Bool) throws -> GuestCopy {
        let directory = try OwnedFD("open \(path)") { open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }.take()
        let (readEnd, writeEnd) = try Descriptors.pipe()
        let work = BackgroundThread<Void> {
            defer {
                close(writeEnd)
                close(directory)
            }
            for name in try GuestArchive.names(in: directory) {
                try GuestArchive.write(directory, name, as: name, to: writeEnd, asLayer: asLayer)
            }
            try FileIO.writeAll(fd: writeEnd, ArchiveFormat.endOfArchive, what: "the archive")
        }
        return GuestCopy(requestID: requestID, handle: handle, watched: readEnd, input: -1, work: work)
    }

    /// Starts unpacking the archive the host sends into `path`: into it when it is a directory
    /// (it must be one when it ends in "/"), else as `path` itself, whose parent must exist.
    static func copyIn(requestID: UInt32, handle: UInt32, root: String, path: String) throws -> GuestCopy {
        let rootFD = try OwnedFD("open the container's root \(root)") { open(root, ConfinedOpen.oPath | O_DIRECTORY | O_CLOEXEC) }
        let parts = path.split(separator: "/").map(String.init).filter { $0 != "." }
        var directory: Int32 = -1
        var rename: String?
        do {
            directory = try ConfinedOpen.open(
                path, in: rootFD.raw, flags: O_RDONLY | O_DIRECTORY, resolve: [.inRoot, .noMagicLinks],
                what: "open \(path) in the container"
            ).take()
        } catch {
            guard (ConfinedOpen.isMissing(error) || error.errno == ENOTDIR) && !path.hasSuffix("/") else {
                if ConfinedOpen.isMissing(error) {
                    throw AgentFailure(kind: .notFound, message: "destination directory \(path) does not exist in the container")
                }
                throw error
            }
            guard let last = parts.last, last != ".." else {
                throw AgentFailure(kind: .notFound, message: "the parent directory of \(path) does not exist in the container")
            }
            directory = try openDirectory("/" + parts.dropLast().joined(separator: "/"), in: rootFD.raw, path: path)
            rename = last
        }
        let (archiveRead, archiveWrite) = try Descriptors.pipe()
        let (doneRead, doneWrite) = try Descriptors.pipe()
        let target = directory
        let work = BackgroundThread<Void> { [rename] in
            defer {
                // What follows the archive's end (a writer's padding) is read to the stream's end,
                // so the answer goes out only after the host's last data frame.
                var sink = [UInt8](repeating: 0, count: 1 << 16)
                while read(archiveRead, &sink, sink.count) > 0 {}
                close(archiveRead)
                close(target)
                close(doneWrite)
            }
            try GuestArchive.extract(from: archiveRead, into: target, rename: rename)
            // On the disk before the answer: a files-only VM may be ended (killed with the process
            // that hosts it) at any time after the copy, with no power-off to sync it.
            guard skiff_syncfs(target) == 0 else { throw SystemError("sync the copied files") }
        }
        return GuestCopy(requestID: requestID, handle: handle, watched: doneRead, input: archiveWrite, work: work)
    }

    private static func openDirectory(_ directory: String, in root: Int32, path: String) throws -> Int32 {
        do {
            return try ConfinedOpen.open(
                directory, in: root, flags: O_RDONLY | O_DIRECTORY, resolve: [.inRoot, .noMagicLinks],
                what: "open \(directory) in the container"
            ).take()
        } catch {
            if ConfinedOpen.isMissing(error) || error.errno == ENOTDIR {
                throw AgentFailure(kind: .notFound, message: "no such file or directory in the container: \(path)")
            }
            throw error
        }
    }

    static func lstatAt(_ directory: Int32, _ name: String) -> stat? {
        var st = stat()
        return fstatat(directory, name, &st, AT_SYMLINK_NOFOLLOW) == 0 ? st : nil
    }

    // MARK: - the loop's side

    func pollDescriptors() -> [pollfd] {
        var fds: [pollfd] = []
        if watched >= 0 { fds.append(pollfd(fd: watched, events: Int16(POLLIN), revents: 0)) }
        if input.wantsWrite { fds.append(pollfd(fd: input.fd, events: Int16(POLLOUT), revents: 0)) }
        return fds
    }

    func input(_ bytes: ArraySlice<UInt8>) {
        guard input.fd >= 0 else { return }
        guard input.pendingCount + bytes.count <= Self.maximumPending else {
            // The thread sees the archive end early and fails; the answer says why.
            overflowed = true
            close(input.fd)
            input = PendingInput(fd: -1, isTerminal: false)
            return
        }
        _ = input.append(bytes)
    }
    func endInput() { _ = input.end() }

    /// Output that became readable (out) becomes data frames; when the thread is over, the ends
    /// of the stream and the answer (`done`, or a failure with the reason) follow.
    func service(fd: Int32) throws -> (frames: [Frame], finished: Bool) {
        if fd == input.fd {
            _ = input.flush()
            return ([], false)
        }
        guard fd == watched else { return ([], false) }
        var frames: [Frame] = []
        var buffer = [UInt8](repeating: 0, count: AgentWire.maxDataChunk)
        let n = read(watched, &buffer, buffer.count)
        if n > 0 {
            if !isCopyIn { frames += AgentMessages.data(Array(buffer[0..<n]), stream: .archive, handle: handle) }
            return (frames, false)
        }
        if n < 0 && (errno == EINTR || errno == EAGAIN) { return ([], false) }
        close(watched)
        watched = -1
        if input.fd >= 0 {
            close(input.fd)
            input = PendingInput(fd: -1, isTerminal: false)
        }
        if !isCopyIn { frames.append(AgentMessages.close(stream: .archive, handle: handle)) }
        do {
            try work.value()
            guard !overflowed else {
                throw AgentFailure(
                    kind: .failed,
                    message:
                        "the host sent the archive faster than the container's disk took it (over \(Self.maximumPending >> 20) MiB waited)")
            }
            frames.append(try AgentMessages.response(.done, id: requestID))
        } catch let failure as AgentFailure {
            frames.append(try AgentMessages.failure(failure, id: requestID))
        } catch {
            frames.append(try AgentMessages.failure(AgentFailure(kind: .failed, message: "\(error)"), id: requestID))
        }
        return (frames, true)
    }
}

/// Tar streams of the container's files, written and read with `ArchiveFormat`.
enum GuestArchive {
    /// Opens one name inside `directory` without following a symlink out of it.
    static func openChild(_ directory: Int32, _ name: String, flags: Int32, mode: mode_t = 0) throws(SystemError) -> OwnedFD {
        try ConfinedOpen.open(
            name, in: directory, flags: flags | O_NOFOLLOW, mode: mode, resolve: [.beneath, .noMagicLinks], what: "open \(name)")
    }

    static func names(in directory: Int32) throws -> [String] {
        let copy = try OwnedFD("dup") { skiff_fcntl_int(directory, F_DUPFD_CLOEXEC, 0) }
        guard let dir = fdopendir(copy.raw) else { throw SystemError("read a directory") }
        _ = copy.take()  // the DIR stream owns it now
        defer { closedir(dir) }
        var result: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            if name != "." && name != ".." { result.append(name) }
        }
        return result.sorted()
    }

    /// Writes `name` in `directory` (recursively) to `fd` as `path`; sockets are left out.
    /// `asLayer`: the tree is an overlay's upper layer, written as an OCI layer: a whiteout (a 0/0
    /// character device) is an empty `.wh.NAME`, an opaque directory gets a `.wh..wh..opq`.
    static func write(_ directory: Int32, _ name: String, as path: String, to fd: Int32, asLayer: Bool = false) throws {
        guard let st = GuestCopy.lstatAt(directory, name) else { throw SystemError("stat \(path)") }
        if asLayer && OverlayMarks.isWhiteout(st) {
            let parent = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
            let whiteout = ArchiveEntry(
                path: (parent.isEmpty ? "" : parent + "/") + ".wh." + name, type: .regular, mode: 0o644, uid: 0, gid: 0,
                mtime: Int64(st.st_mtim.tv_sec))
            try FileIO.writeAll(fd: fd, ArchiveFormat.header(whiteout), what: "the archive")
            return
        }
        var entry = ArchiveEntry(
            path: path, type: .regular, mode: UInt32(st.st_mode & 0o7777), uid: st.st_uid, gid: st.st_gid,
            mtime: Int64(st.st_mtim.tv_sec))
        var file: OwnedFD?
        switch st.st_mode & S_IFMT {
        case S_IFREG:
            file = try openChild(directory, name, flags: O_RDONLY)
            entry.size = UInt64(st.st_size)
        case S_IFDIR: entry.type = .directory
        case S_IFLNK:
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = readlinkat(directory, name, &buffer, buffer.count - 1)
            guard n >= 0 else { throw SystemError("readlink \(path)") }
            entry.type = .symlink
            entry.linkTarget = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        case S_IFIFO: entry.type = .fifo
        case S_IFCHR, S_IFBLK:
            entry.type = (st.st_mode & S_IFMT) == S_IFCHR ? .characterDevice : .blockDevice
            entry.deviceMajor = skiff_major(UInt64(st.st_rdev))
            entry.deviceMinor = skiff_minor(UInt64(st.st_rdev))
        default:
            return  // sockets
        }
        try FileIO.writeAll(fd: fd, ArchiveFormat.header(entry), what: "the archive")
        if let source = file?.raw {
            // Exactly the size in the header: a file that grows or shrinks meanwhile is cut or padded.
            var left = entry.size
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            while left > 0 {
                let n = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, Int(min(UInt64($0.count), left))) }
                if n < 0 && errno == EINTR { continue }
                guard n >= 0 else { throw SystemError("read \(path)") }
                if n == 0 {
                    try FileIO.writeAll(fd: fd, [UInt8](repeating: 0, count: Int(left)), what: "the archive")
                    break
                }
                try FileIO.writeAll(fd: fd, Array(buffer[0..<n]), what: "the archive")
                left -= UInt64(n)
            }
            try FileIO.writeAll(fd: fd, [UInt8](repeating: 0, count: ArchiveFormat.padding(after: entry.size)), what: "the archive")
        }
        if entry.type == .directory {
            let child = try openChild(directory, name, flags: O_RDONLY | O_DIRECTORY)
            if asLayer && OverlayMarks.isOpaque(directory: child.raw) {
                let marker = ArchiveEntry(
                    path: path + "/.wh..wh..opq", type: .regular, mode: 0o644, uid: 0, gid: 0, mtime: Int64(st.st_mtim.tv_sec))
                try FileIO.writeAll(fd: fd, ArchiveFormat.header(marker), what: "the archive")
            }
            for childName in try names(in: child.raw) {
                try write(child.raw, childName, as: path + "/" + childName, to: fd, asLayer: asLayer)
            }
        }
    }

    /// Reads exactly `count` bytes of `fd` (fewer only at its end).
    static func readExactly(_ fd: Int32, _ count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let n = bytes[offset...].withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw SystemError("read the archive") }
            if n == 0 { break }
            offset += n
        }
        return Array(bytes[0..<offset])
    }

    /// Opens (creating when `create`) the directory `path` beneath `root`, one name at a time.
    static func openDirectory(_ path: String, under root: Int32, create: Bool) throws -> OwnedFD {
        var current = try OwnedFD("dup") { skiff_fcntl_int(root, F_DUPFD_CLOEXEC, 0) }
        for part in path.split(separator: "/").map(String.init) {
            if create && mkdirat(current.raw, part, 0o755) != 0 && errno != EEXIST { throw SystemError("mkdir \(part)") }
            do {
                current = try openChild(current.raw, part, flags: O_RDONLY | O_DIRECTORY)
            } catch {
                throw AgentFailure(
                    kind: .failed, message: "cannot unpack below \(part): it is not a directory (a symlink is never followed)")
            }
        }
        return current
    }

    /// Unpacks the archive on `fd` into `target`, its root renamed to `rename` when given
    /// (`ArchiveRoot`). Owners and modes are the archive's: the host decided them.
    static func extract(from fd: Int32, into target: Int32, rename: String?) throws {
        var reader = ArchiveReader { count in try readExactly(fd, count) }
        var naming = ArchiveRoot(rename: rename)
        while let entry = try reader.next() {
            let path = try naming.map(entry.path)
            // The target directory itself keeps its owner and mode.
            if path.isEmpty { continue }
            var parts = path.split(separator: "/").map(String.init)
            let last = parts.removeLast()
            let parent = try openDirectory(parts.joined(separator: "/"), under: target, create: true)
            let existing = GuestCopy.lstatAt(parent.raw, last)
            if let existing, (existing.st_mode & S_IFMT) == S_IFDIR, entry.type != .directory {
                throw AgentFailure(kind: .failed, message: "cannot overwrite directory \(path) with a non-directory")
            }
            if existing != nil && entry.type != .directory { unlinkat(parent.raw, last, 0) }
            let mode = mode_t(entry.mode & 0o7777)
            switch entry.type {
            case .directory:
                if mkdirat(parent.raw, last, 0o700) != 0 && errno != EEXIST { throw SystemError("mkdir \(path)") }
                let fd = try openChild(parent.raw, last, flags: O_RDONLY | O_DIRECTORY)
                try sysCall("chown \(path)") { fchown(fd.raw, entry.uid, entry.gid) }
                try sysCall("chmod \(path)") { fchmod(fd.raw, mode) }
            case .regular:
                let fd = try openChild(parent.raw, last, flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o600)
                while true {
                    let bytes = try reader.readData()
                    if bytes.isEmpty { break }
                    try FileIO.writeAll(fd: fd.raw, bytes, what: path)
                }
                try sysCall("chown \(path)") { fchown(fd.raw, entry.uid, entry.gid) }
                try sysCall("chmod \(path)") { fchmod(fd.raw, mode) }
                var times = [timespec(tv_sec: Int(entry.mtime), tv_nsec: 0), timespec(tv_sec: Int(entry.mtime), tv_nsec: 0)]
                _ = futimens(fd.raw, &times)
                try fd.close(what: path)
            case .symlink:
                try sysCall("symlink \(path)") { symlinkat(entry.linkTarget, parent.raw, last) }
                try sysCall("chown \(path)") { fchownat(parent.raw, last, entry.uid, entry.gid, AT_SYMLINK_NOFOLLOW) }
            case .hardlink:
                let linked = try naming.map(entry.linkTarget)
                var linkParts = linked.split(separator: "/").map(String.init)
                guard let linkName = linkParts.popLast() else {
                    throw AgentFailure(kind: .failed, message: "\(path) is a hardlink to the archive's root")
                }
                let linkParent = try openDirectory(linkParts.joined(separator: "/"), under: target, create: false)
                try sysCall("link \(path) to \(linked)") { linkat(linkParent.raw, linkName, parent.raw, last, 0) }
            case .characterDevice, .blockDevice, .fifo:
                let type = entry.type == .fifo ? S_IFIFO : entry.type == .characterDevice ? S_IFCHR : S_IFBLK
                guard entry.deviceMajor < 1 << 12, entry.deviceMinor < 1 << 20 else {
                    throw AgentFailure(kind: .failed, message: "\(path) has an impossible device number")
                }
                let device = entry.type == .fifo ? 0 : dev_t(skiff_makedev(entry.deviceMajor, entry.deviceMinor))
                try sysCall("mknod \(path)") { mknodat(parent.raw, last, type | 0o600, device) }
                try sysCall("chown \(path)") { fchownat(parent.raw, last, entry.uid, entry.gid, AT_SYMLINK_NOFOLLOW) }
                try sysCall("chmod \(path)") { fchmodat(parent.raw, last, mode, 0) }
            }
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
import CArchive
import CShim
import LinuxSupport
import OCISpec

/// Unpacks one layer tar into its own snapshot directory the way overlayfs expects to find it:
/// `.wh.NAME` becomes a 0/0 character device, `.wh..wh..opq` the `trusted.overlay.opaque=y`
/// xattr on the directory; ownership, modes (setuid included), xattrs, hardlinks, symlinks,
/// device nodes and times kept.
///
/// It exists to turn untrusted tar streams into files safely: names with `..` or absolute paths,
/// writes through symlinks, hardlinks leaving the layer and whiteouts naming `..` are rejected,
/// and all writes go through `ConfinedDirectory`, so nothing lands outside the snapshot.
public struct LayerUnpacker {
    /// The compressed layer's digest, for error messages.
    public let layer: Digest
    /// Keep file owners from the tar (needs root).
    public var preserveOwnership = true
    /// What the layer may write (a gzip bomb stops at the ceiling or the disk's reserve).
    public var limits = UnpackLimits.defaults
    /// The image the layer belongs to, for error messages.
    public var image: String?

    public init(layer: Digest) { self.layer = layer }

    /// The rules each entry is held to (shared with `skiff cp -`).
    var policy: TarEntryPolicy { .imageLayer(preserveOwnership: preserveOwnership) }

    /// Unpacks the blob at `blobPath` into the existing empty directory `directory` and returns
    /// the digest of the uncompressed tar stream (the layer's diffID).
    public func unpack(blobPath: String, into directory: String) throws -> Digest {
        let blob = try OwnedFD("open \(blobPath)") { skiff_open(blobPath, O_RDONLY | O_CLOEXEC, 0) }
        let stream = try DecompressedStream(fd: blob.raw)
        guard let tar = archive_read_new() else { throw StoreError.system("libarchive: out of memory") }
        defer { archive_read_free(tar) }
        archive_read_support_format_tar(tar)
        let context = Unmanaged.passRetained(stream)
        defer { context.release() }
        let readCallback: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, UnsafeMutablePointer<UnsafeRawPointer?>?) -> Int = {
            _, client, out in
            guard let client else { return -1 }
            let stream = Unmanaged<DecompressedStream>.fromOpaque(client).takeUnretainedValue()
            let n = stream.fill()
            out?.pointee = stream.currentBuffer
            return n
        }
        guard archive_read_open(tar, context.toOpaque(), nil, readCallback, nil) == ARCHIVE_OK else {
            throw StoreError.badLayer(layer: layer, detail: stream.failure ?? DecompressedStream.message(tar))
        }
        let tree = try ConfinedDirectory(path: directory)
        let shortcuts = FileCreationShortcuts(preserveOwnership: preserveOwnership)
        let budget = UnpackBudget(limits: limits, layer: layer, image: image, directory: directory)
        try budget.checkFreeSpace(needed: 0)
        var directoryTimes: [(String, timespec)] = []
        var entry: OpaquePointer?
        while true {
            let status = archive_read_next_header(tar, &entry)
            if status == ARCHIVE_EOF { break }
            if status == ARCHIVE_RETRY { continue }
            guard status == ARCHIVE_OK || status == ARCHIVE_WARN, let entry else {
                throw StoreError.badLayer(
                    layer: layer, detail: stream.failure ?? "not a valid tar stream: \(DecompressedStream.message(tar))")
            }
            try apply(
                entry: entry, archive: tar, tree: tree, directoryTimes: &directoryTimes, stream: stream, shortcuts: shortcuts,
                budget: budget)
        }
        let diffID = try stream.finish()
        for (path, time) in directoryTimes.reversed() {
            setTimes(tree: tree, relative: path, time: time)
        }
        return diffID
    }

    private func apply(
        entry: OpaquePointer, archive: OpaquePointer, tree: ConfinedDirectory,
        directoryTimes: inout [(String, timespec)], stream: DecompressedStream,
        shortcuts: FileCreationShortcuts, budget: UnpackBudget
    ) throws {
        guard let fields = TarEntryFields(entry) else {
            throw StoreError.hostileLayer(layer: layer, entry: "(unnamed)", reason: "has no name or a name that is not valid text")
        }
        let raw = fields.name
        let plan: TarEntryPlan
        do { plan = try policy.plan(fields) } catch {
            throw StoreError.hostileLayer(layer: layer, entry: error.entry, reason: error.reason)
        }
        guard let path = plan.path else {
            // The layer's root directory itself: take its metadata.
            try applyMetadata(entry: entry, plan: plan, dirfd: tree.rootFD, name: ".", raw: raw)
            shortcuts.forget(directory: "")
            return
        }
        let parentFD = try resolveParent(tree: tree, path: path, raw: raw)

        switch plan.kind {
        case .skipped:
            return
        case .opaqueDirectory:
            try sysCall("mark \(path.parent) opaque") {
                skiff_fsetxattr(parentFD, "trusted.overlay.opaque", "y", 1)
            }
        case .whiteout(let hidden):
            try replaceExisting(parentFD: parentFD, name: hidden, keepDirectory: false, tree: tree)
            try sysCall("create whiteout \(path.parent)/\(hidden)") {
                mknodat(parentFD, hidden, S_IFCHR, dev_t(skiff_makedev(0, 0)))
            }
        case .hardlink(let target):
            try replaceExisting(parentFD: parentFD, name: path.name, keepDirectory: false, tree: tree)
            // linkat needs both parents open at once; the cache holds one, so open the target's own.
            let targetParent = try resolveParentUncached(tree: tree, parent: target.parent, raw: raw)
            let linkParent = try resolveParent(tree: tree, path: path, raw: raw)
            if linkat(targetParent.raw, target.name, linkParent, path.name, 0) != 0 {
                let code = errno
                if code == ENOENT {
                    throw StoreError.badLayer(
                        layer: layer,
                        detail:
                            "entry '\(raw)' is a hardlink to '\(target.full)', which is not in this layer (links across layers are not supported)"
                    )
                }
                throw StoreError.badLayer(
                    layer: layer, detail: SystemError("hardlink \(path.full) to \(target.full)", errno: code).description)
            }
        case .directory:
            // Try first, look only on a clash: in a fresh snapshot almost nothing exists yet.
            if mkdirat(parentFD, path.name, 0o700) != 0 {
                guard errno == EEXIST else {
                    throw StoreError.badLayer(layer: layer, detail: SystemError("mkdir \(path.full)").description)
                }
                if ConfinedDirectory.fileType(parentFD, path.name) != S_IFDIR {
                    try replaceExisting(parentFD: parentFD, name: path.name, keepDirectory: false, tree: tree)
                    try sysCall("mkdir \(path.full)") { mkdirat(parentFD, path.name, 0o700) }
                }
            }
            try applyMetadata(entry: entry, plan: plan, dirfd: parentFD, name: path.name, raw: raw)
            directoryTimes.append((path.full, Self.mtime(entry)))
            shortcuts.forget(directory: path.full)
        case .regular(let size):
            try budget.admit(size: size)
            let flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC
            // Most files can be created with their final mode and owner (saving a chmod and a
            // chown each, a tenth of an unpack's system calls); the rest get them afterwards.
            let modeAtCreation = shortcuts.modeAtCreation(plan.mode)
            let createMode = modeAtCreation ?? 0o600
            let created = skiff_openat(parentFD, path.name, flags, createMode)
            let fd: OwnedFD
            if created >= 0 {
                fd = OwnedFD(created)
            } else {
                guard errno == EEXIST else {
                    throw StoreError.badLayer(layer: layer, detail: SystemError("create \(path.full)").description)
                }
                try replaceExisting(parentFD: parentFD, name: path.name, keepDirectory: false, tree: tree)
                fd = try OwnedFD("create \(path.full)") { skiff_openat(parentFD, path.name, flags, createMode) }
            }
            try writeData(archive: archive, fd: fd.raw, size: size, name: path.full, stream: stream)
            let ownerAtCreation = try shortcuts.createdWithOwner(plan.owner, parentFD: parentFD, parent: path.parent)
            try applyMetadata(
                entry: entry, plan: plan, fd: fd.raw, name: path.full, needsOwner: !ownerAtCreation, needsMode: modeAtCreation == nil)
        case .symlink(let target):
            // Try first, clear the way only on a clash (as for files).
            if symlinkat(target, parentFD, path.name) != 0 {
                guard errno == EEXIST else {
                    throw StoreError.badLayer(layer: layer, detail: SystemError("symlink \(path.full)").description)
                }
                try replaceExisting(parentFD: parentFD, name: path.name, keepDirectory: false, tree: tree)
                try sysCall("symlink \(path.full)") { symlinkat(target, parentFD, path.name) }
            }
            let ownerAtCreation = try shortcuts.createdWithOwner(plan.owner, parentFD: parentFD, parent: path.parent)
            try applyMetadata(entry: entry, plan: plan, dirfd: parentFD, name: path.name, raw: raw, needsOwner: !ownerAtCreation)
        case .device, .fifo:
            try replaceExisting(parentFD: parentFD, name: path.name, keepDirectory: false, tree: tree)
            let (type, device): (mode_t, dev_t)
            if case .device(let deviceType, let number) = plan.kind {
                (type, device) = (deviceType, number)
            } else {
                (type, device) = (S_IFIFO, 0)
            }
            try sysCall("mknod \(path.full)") { mknodat(parentFD, path.name, type | 0o600, device) }
            try applyMetadata(entry: entry, plan: plan, dirfd: parentFD, name: path.name, raw: raw)
        }
    }

    private func resolveParent(tree: ConfinedDirectory, path: EntryPath, raw: String) throws -> Int32 {
        do {
            return try tree.parent(path.parent)
        } catch {
            throw mapResolve(error, raw: raw, parent: path.parent)
        }
    }

    /// The hardlink target's parent ("" is the root), opened on its own; never created.
    private func resolveParentUncached(tree: ConfinedDirectory, parent: String, raw: String) throws -> OwnedFD {
        let code: Int32
        do {
            return try tree.openDirectory(parent)
        } catch {
            code = error.errno
        }
        if code == ELOOP || code == EXDEV || (code == ENOTDIR && tree.containsSymlink(parent)) {
            throw StoreError.hostileLayer(layer: layer, entry: raw, reason: "links through a symlink")
        }
        switch code {
        case ENOENT:
            throw StoreError.badLayer(
                layer: layer,
                detail: "entry '\(raw)' is a hardlink into '\(parent)', which is not in this layer (links across layers are not supported)")
        default: throw StoreError.badLayer(layer: layer, detail: SystemError("open \(parent)", errno: code).description)
        }
    }

    private func mapResolve(_ error: ConfinedDirectory.ResolveError, raw: String, parent: String) -> StoreError {
        switch error {
        case .throughSymlink:
            return .hostileLayer(layer: layer, entry: raw, reason: "would be written through a symlink")
        case .notDirectory:
            return .badLayer(layer: layer, detail: "entry '\(raw)': '\(parent)' is not a directory")
        case .system(let error):
            return .badLayer(layer: layer, detail: error.description)
        }
    }

    /// Clears the way for a new entry: a later entry replaces an earlier one of the same name,
    /// except that a directory over a directory merges.
    private func replaceExisting(parentFD: Int32, name: String, keepDirectory: Bool, tree: ConfinedDirectory) throws {
        guard let existing = ConfinedDirectory.fileType(parentFD, name) else { return }
        if keepDirectory && existing == S_IFDIR { return }
        // The cached fd is this entry's parent, never inside what is removed, so it stays valid.
        try ConfinedDirectory.remove(parentFD, name)
    }

    private func writeData(archive: OpaquePointer, fd: Int32, size: Int64, name: String, stream: DecompressedStream) throws {
        var block: UnsafeRawPointer?
        var length = 0
        var offset: Int64 = 0
        var end: Int64 = 0
        while true {
            let status = archive_read_data_block(archive, &block, &length, &offset)
            if status == ARCHIVE_EOF { break }
            guard status == ARCHIVE_OK || status == ARCHIVE_WARN else {
                throw StoreError.badLayer(layer: layer, detail: stream.failure ?? "reading \(name): \(DecompressedStream.message(archive))")
            }
            guard let block, length > 0 else { continue }
            guard offset >= 0, offset <= size, Int64(length) <= size - offset else {
                throw StoreError.hostileLayer(layer: layer, entry: name, reason: "has data outside its declared size")
            }
            var written = 0
            while written < length {
                let n = try sysCall("write \(name)") {
                    pwrite(fd, block + written, length - written, off_t(offset) + off_t(written))
                }
                written += n
            }
            end = max(end, offset + Int64(length))
        }
        if end < size {
            try sysCall("truncate \(name)") { ftruncate(fd, off_t(size)) }
        }
    }

    private static func mtime(_ entry: OpaquePointer) -> timespec {
        timespec(tv_sec: archive_entry_mtime(entry), tv_nsec: archive_entry_mtime_nsec(entry))
    }

    /// Owner, mode, xattrs and times for an open regular file (owner and mode only when the
    /// file was not created with them).
    private func applyMetadata(entry: OpaquePointer, plan: TarEntryPlan, fd: Int32, name: String, needsOwner: Bool, needsMode: Bool) throws
    {
        if let owner = plan.owner, needsOwner {
            try sysCall("chown \(name)") { fchown(fd, owner.uid, owner.gid) }
        }
        if needsMode {
            try sysCall("chmod \(name)") { fchmod(fd, plan.mode) }
        }
        try forEachXattr(entry) { key, value, size in
            try sysCall("set xattr \(key) on \(name)") { skiff_fsetxattr(fd, key, value, size) }
        }
        var times = [Self.mtime(entry), Self.mtime(entry)]
        try sysCall("set times on \(name)") { futimens(fd, &times) }
    }

    /// Owner, mode, xattrs and times for a non-regular entry, by name in `dirfd`.
    private func applyMetadata(
        entry: OpaquePointer, plan: TarEntryPlan, dirfd: Int32, name: String, raw: String,
        needsOwner: Bool = true
    ) throws {
        let isSymlink: Bool, isDirectory: Bool
        switch plan.kind {
        case .symlink: (isSymlink, isDirectory) = (true, false)
        case .directory: (isSymlink, isDirectory) = (false, true)
        default: (isSymlink, isDirectory) = (false, plan.path == nil)
        }
        if let owner = plan.owner, needsOwner {
            try sysCall("chown \(raw)") { fchownat(dirfd, name, owner.uid, owner.gid, AT_SYMLINK_NOFOLLOW) }
        }
        if !isSymlink {
            try sysCall("chmod \(raw)") { fchmodat(dirfd, name, plan.mode, 0) }
        }
        var hasXattrs = false
        try forEachXattr(entry) { _, _, _ in hasXattrs = true }
        if hasXattrs {
            let handle = try OwnedFD("open \(raw)") { skiff_openat(dirfd, name, ConfinedOpen.oPath | O_NOFOLLOW | O_CLOEXEC, 0) }
            let procPath = "/proc/self/fd/\(handle.raw)"
            try forEachXattr(entry) { key, value, size in
                try sysCall("set xattr \(key) on \(raw)") { skiff_setxattr(procPath, key, value, size) }
            }
        }
        if !isDirectory {
            var times = [Self.mtime(entry), Self.mtime(entry)]
            try sysCall("set times on \(raw)") { utimensat(dirfd, name, &times, AT_SYMLINK_NOFOLLOW) }
        }
    }

    /// Calls `body` for each xattr of the entry, skipping overlayfs' own (a layer must not forge them).
    private func forEachXattr(_ entry: OpaquePointer, _ body: (String, UnsafeRawPointer?, Int) throws -> Void) throws {
        archive_entry_xattr_reset(entry)
        var name: UnsafePointer<CChar>?
        var value: UnsafeRawPointer?
        var size = 0
        while archive_entry_xattr_next(entry, &name, &value, &size) == ARCHIVE_OK {
            guard let name else { continue }
            let key = String(cString: name)
            if !policy.xattrs || key.hasPrefix("trusted.overlay.") { continue }
            try body(key, value, size)
        }
    }

    private func setTimes(tree: ConfinedDirectory, relative: String, time: timespec) {
        guard let fd = try? tree.openDirectory(relative) else { return }
        var times = [time, time]
        futimens(fd.raw, &times)
    }
}

/// Bounds on what one layer may unpack to.
public struct UnpackLimits: Sendable, Equatable {
    /// Most bytes of file data one layer may declare (the sum of its regular files' sizes).
    public var maxLayerBytes: Int64
    /// Free space to leave on the store's filesystem.
    public var reserveBytes: Int64

    public init(maxLayerBytes: Int64, reserveBytes: Int64) {
        self.maxLayerBytes = maxLayerBytes
        self.reserveBytes = reserveBytes
    }

    /// 64 GiB a layer (far above real images; a bomb is usually stopped by the reserve first) and
    /// 256 MiB of free space kept for everything else on the machine.
    public static let defaults = UnpackLimits(maxLayerBytes: 64 << 30, reserveBytes: 256 << 20)

    /// The defaults, with `SKIFF_MAX_LAYER_SIZE` and `SKIFF_STORE_RESERVE` (sizes such as 200g,
    /// 1g, 0) taking their place when set and valid.
    public static var fromEnvironment: UnpackLimits {
        var limits = defaults
        if let text = getenv("SKIFF_MAX_LAYER_SIZE").map({ String(cString: $0) }), let bytes = ByteSize.parse(text), bytes > 0 {
            limits.maxLayerBytes = bytes
        }
        if let text = getenv("SKIFF_STORE_RESERVE").map({ String(cString: $0) }), let bytes = ByteSize.parse(text) {
            limits.reserveBytes = bytes
        }
        return limits
    }
}

/// The running count of one unpack against its `UnpackLimits`: declared bytes, and a look at the
/// filesystem's free space before the first file and every 32 MiB of file data after it.
final class UnpackBudget {
    let limits: UnpackLimits
    let layer: Digest
    let image: String?
    let directory: String
    private var declared: Int64 = 0
    private var sinceCheck: Int64 = 0
    static let checkEvery: Int64 = 32 << 20

    init(limits: UnpackLimits, layer: Digest, image: String?, directory: String) {
        self.limits = limits
        self.layer = layer
        self.image = image
        self.directory = directory
    }

    /// Counts a regular file of `size` bytes before it is written.
    func admit(size: Int64) throws {
        let (total, overflow) = declared.addingReportingOverflow(max(size, 0))
        guard !overflow, total <= limits.maxLayerBytes else {
            throw StoreError.layerTooLarge(layer: layer, image: image, declared: overflow ? Int64.max : total, limit: limits.maxLayerBytes)
        }
        declared = total
        sinceCheck += max(size, 0)
        if sinceCheck >= Self.checkEvery || size >= Self.checkEvery {
            try checkFreeSpace(needed: size)
            sinceCheck = 0
        }
    }

    func checkFreeSpace(needed: Int64) throws {
        var fs = statvfs()
        guard statvfs(directory, &fs) == 0 else { return }
        let available = Int64(clamping: UInt64(fs.f_bavail).multipliedReportingOverflow(by: UInt64(fs.f_frsize)).partialValue)
        if available - max(needed, 0) < limits.reserveBytes {
            throw StoreError.noSpace(
                layer: layer, image: image, store: directory, needed: needed, available: available, reserve: limits.reserveBytes)
        }
    }
}

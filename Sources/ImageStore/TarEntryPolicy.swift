#if canImport(Glibc)
import Glibc
#endif
import CArchive
import CShim

/// What one tar entry may become on disk: the one set of rules for turning an untrusted tar
/// stream into files, with two callers, `LayerUnpacker` (an image layer into its snapshot) and
/// the engine's `TarStream` (`skiff cp - CONTAINER:DIR`). The callers do the writing (through
/// `ConfinedDirectory` or one-component opens beneath the target); this type decides, for each
/// entry, before anything is written:
/// - the path: relative, no "..", split into a parent and a name ("./" is the target itself);
/// - the type: directory, regular file, symlink (with a target), hardlink (to a path that obeys
///   the same rules and is not the target itself), character or block device (major < 2^12,
///   minor < 2^20, as the kernel's dev_t holds them), FIFO; sockets are skipped (docker skips
///   them too); any other type is refused;
/// - the owner: an id that does not fit uid_t, or is (uid_t)-1 ("leave unchanged" to chown),
///   is refused, never clamped; then kept, replaced or left to the creating user (`Ownership`);
/// - the mode: the entry's permission bits, setuid/setgid/sticky included, set with chmod after
///   creation (so the umask never changes them, devices and FIFOs included);
/// - the size: a negative declared size is refused (the running total and free space are the
///   layer budget's, `UnpackBudget`);
/// - overlayfs whiteouts (`.wh.NAME`, `.wh..wh..opq`): markers for an image layer, plain names
///   for a copy.
/// A failed chown or chmod fails the entry in both callers: a file with the wrong owner or mode
/// is not what was asked for.
public struct TarEntryPolicy: Sendable {
    /// Whose files they become.
    public enum Ownership: Sendable, Equatable {
        /// The ids in the archive (an image layer; `cp -a`).
        case fromArchive
        /// Every entry belongs to this owner (`cp` without -a: the container's root).
        case fixed(TarEntryOwner)
        /// No chown: files belong to whoever creates them (an unprivileged unpack).
        case asCreated
    }

    public var ownership: Ownership
    /// `.wh.` names are overlayfs whiteouts (image layers), not files.
    public var whiteouts: Bool
    /// The archive's xattrs are set (image layers; never `trusted.overlay.*`, which only the
    /// unpacker's own whiteout handling may write).
    public var xattrs: Bool
    /// A non-directory entry replaces an existing directory of the same name (a later layer's
    /// entry replaces an earlier one's). `docker cp` refuses instead (NoOverwriteDirNonDir), so
    /// a stream cannot delete a container's directory tree by naming a file after it.
    public var replacesDirectories: Bool
    /// Files land on the host from a container (`cp` out of a micro-VM without -a): setuid and
    /// setgid bits are dropped and device nodes skipped, so a container's setuid binary does not
    /// become a setuid-root file on the host nor its device node a host device anyone may open
    /// (as `TreeCopy`'s hostSafe does for a process container).
    public var hostSafe: Bool

    public init(ownership: Ownership, whiteouts: Bool, xattrs: Bool, replacesDirectories: Bool, hostSafe: Bool = false) {
        self.ownership = ownership
        self.whiteouts = whiteouts
        self.xattrs = xattrs
        self.replacesDirectories = replacesDirectories
        self.hostSafe = hostSafe
    }

    /// An image layer into its snapshot.
    public static func imageLayer(preserveOwnership: Bool) -> TarEntryPolicy {
        TarEntryPolicy(ownership: preserveOwnership ? .fromArchive : .asCreated, whiteouts: true, xattrs: true, replacesDirectories: true)
    }

    /// `cp - CONTAINER:DIR`. As docker cp: without -a every file belongs to the container's
    /// root (docker extracts as root and chowns to the root of the container's user-namespace
    /// mapping; skiff's containers map none, so that is 0:0); with -a the archive's ids are
    /// kept. xattrs are not applied (skiff's `cp CONTAINER:PATH -` does not write them either).
    public static func copyIntoContainer(archive: Bool) -> TarEntryPolicy {
        TarEntryPolicy(
            ownership: archive ? .fromArchive : .fixed(TarEntryOwner(uid: 0, gid: 0)), whiteouts: false, xattrs: false,
            replacesDirectories: false)
    }

    /// `cp CONTAINER:PATH HOSTPATH` of a micro-VM container, whose guest sends the tar stream:
    /// without -a the files belong to `owner` (the caller) and are host-safe; with -a the
    /// archive's ids, modes and devices are kept, as for a process container.
    public static func copyOutOfContainer(archive: Bool, owner: TarEntryOwner) -> TarEntryPolicy {
        TarEntryPolicy(
            ownership: archive ? .fromArchive : .fixed(owner), whiteouts: false, xattrs: false, replacesDirectories: false,
            hostSafe: !archive)
    }

    static let whiteoutPrefix = ".wh."
    static let opaqueMarker = ".wh..wh..opq"

    /// What `fields` may become, or why it is refused.
    public func plan(_ fields: TarEntryFields) throws(TarEntryRefusal) -> TarEntryPlan {
        let raw = fields.name
        func refuse(_ reason: String) -> TarEntryRefusal { TarEntryRefusal(entry: raw, reason: reason) }
        let path: EntryPath?
        do { path = try EntryPath.parse(raw) } catch { throw refuse(error.reason) }
        let owner = try validOwner(fields)
        let plannedOwner: TarEntryOwner?
        switch ownership {
        case .fromArchive: plannedOwner = owner
        case .fixed(let fixed): plannedOwner = fixed
        case .asCreated: plannedOwner = nil
        }
        func plan(_ kind: TarEntryPlan.Kind) -> TarEntryPlan {
            TarEntryPlan(path: path, kind: kind, owner: plannedOwner, mode: fields.permissions & (hostSafe ? 0o1777 : 0o7777))
        }
        if whiteouts, let path {
            if path.name == Self.opaqueMarker { return plan(.opaqueDirectory) }
            if path.name.hasPrefix(Self.whiteoutPrefix) {
                let hidden = String(path.name.dropFirst(Self.whiteoutPrefix.count))
                if hidden.hasPrefix(Self.whiteoutPrefix) { return plan(.skipped) }  // other AUFS metadata (.wh..wh.plnk)
                guard !hidden.isEmpty, hidden != ".", hidden != ".." else { throw refuse("is a whiteout naming '\(hidden)'") }
                return plan(.whiteout(hidden: hidden))
            }
        }
        if let target = fields.hardlink {
            let parsed: EntryPath?
            do { parsed = try EntryPath.parse(target) } catch { throw refuse("is a hardlink to '\(target)', which \(error.reason)") }
            guard let parsed else { throw refuse("is a hardlink to the root of the archive") }
            guard path != nil else { throw refuse("is the root of the archive as a hardlink") }
            return plan(.hardlink(target: parsed))
        }
        switch fields.type {
        case S_IFDIR:
            return plan(.directory)
        case S_IFREG:
            guard fields.size >= 0 else { throw refuse("has a negative size \(fields.size)") }
            return plan(.regular(size: fields.size))
        case S_IFLNK:
            guard let target = fields.symlink else { throw refuse("is a symlink without a target") }
            return plan(.symlink(target: target))
        case S_IFCHR, S_IFBLK:
            guard let major = UInt32(exactly: fields.deviceMajor), let minor = UInt32(exactly: fields.deviceMinor),
                major < 1 << 12, minor < 1 << 20
            else {
                throw refuse("has an impossible device number")
            }
            if hostSafe { return plan(.skipped) }
            return plan(.device(type: fields.type, device: dev_t(skiff_makedev(major, minor))))
        case S_IFIFO:
            return plan(.fifo)
        case S_IFSOCK:
            return plan(.skipped)  // tar cannot carry sockets meaningfully; docker skips them too
        default:
            throw refuse("has unknown file type \(String(fields.type, radix: 8))")
        }
    }

    /// The entry's owner, refusing ids that do not fit (a tar can claim any 64-bit number;
    /// (uid_t)-1 would mean "leave unchanged"). Checked whatever `ownership` says: an archive
    /// that claims an impossible owner is broken or hostile.
    func validOwner(_ fields: TarEntryFields) throws(TarEntryRefusal) -> TarEntryOwner {
        guard let uid = uid_t(exactly: fields.uid), let gid = gid_t(exactly: fields.gid), uid != uid_t.max, gid != gid_t.max else {
            throw TarEntryRefusal(entry: fields.name, reason: "has an impossible owner \(fields.uid):\(fields.gid)")
        }
        return TarEntryOwner(uid: uid, gid: gid)
    }
}

public struct TarEntryOwner: Sendable, Equatable {
    public var uid: uid_t
    public var gid: gid_t
    public init(uid: uid_t, gid: gid_t) {
        self.uid = uid
        self.gid = gid
    }
}

/// The fields of a tar entry the policy looks at, read from libarchive or made by a test.
public struct TarEntryFields: Sendable, Equatable {
    public var name: String
    public var type: mode_t
    public var permissions: mode_t = 0o644
    public var uid: Int64 = 0
    public var gid: Int64 = 0
    public var size: Int64 = 0
    public var symlink: String?
    public var hardlink: String?
    public var deviceMajor: UInt64 = 0
    public var deviceMinor: UInt64 = 0

    public init(name: String, type: mode_t) {
        self.name = name
        self.type = type
    }

    /// Reads a libarchive entry; nil when it has no name (or one that is not text).
    public init?(_ entry: OpaquePointer) {
        guard let name = archive_entry_pathname(entry) else { return nil }
        self.name = String(cString: name)
        type = archive_entry_filetype(entry) & S_IFMT
        permissions = archive_entry_perm(entry) & 0o7777
        uid = archive_entry_uid(entry)
        gid = archive_entry_gid(entry)
        size = archive_entry_size(entry)
        symlink = archive_entry_symlink(entry).map { String(cString: $0) }
        hardlink = archive_entry_hardlink(entry).map { String(cString: $0) }
        deviceMajor = UInt64(archive_entry_rdevmajor(entry))
        deviceMinor = UInt64(archive_entry_rdevminor(entry))
    }
}

/// What the policy decided for one entry.
public struct TarEntryPlan: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case directory
        case regular(size: Int64)
        case symlink(target: String)
        case hardlink(target: EntryPath)
        /// A character or block device (`type` is S_IFCHR or S_IFBLK).
        case device(type: mode_t, device: dev_t)
        case fifo
        /// An overlayfs whiteout hiding `hidden` in the entry's parent.
        case whiteout(hidden: String)
        /// `.wh..wh..opq`: the entry's parent directory hides the lower layers' contents.
        case opaqueDirectory
        /// Nothing to write (a socket, AUFS metadata).
        case skipped
    }

    /// Where the entry goes; nil for the target directory itself ("./").
    public var path: EntryPath?
    public var kind: Kind
    /// The owner to set; nil: leave the creating user's.
    public var owner: TarEntryOwner?
    /// Permission bits to set (not for symlinks, whose mode Linux ignores).
    public var mode: mode_t
}

/// A tar entry the policy refuses, and why ("has an absolute path").
public struct TarEntryRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    public let entry: String
    public let reason: String
    public var description: String { "entry '\(entry)' \(reason)" }
}

/// A tar entry name split into a parent path and a final name, with `.` and empty parts dropped.
public struct EntryPath: Equatable, Sendable {
    public var parent: String
    public var name: String

    /// Nil when the path is the root itself ("./").
    /// Throws a reason when it is hostile: a `..` component or an absolute path.
    public static func parse(_ raw: String) throws(EntryPathError) -> EntryPath? {
        if raw.hasPrefix("/") { throw .absolute }
        var parts: [Substring] = []
        for part in raw.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." { throw .dotDot }
            parts.append(part)
        }
        guard let last = parts.popLast() else { return nil }
        return EntryPath(parent: parts.joined(separator: "/"), name: String(last))
    }

    public var full: String { parent.isEmpty ? name : parent + "/" + name }
}

public enum EntryPathError: Error {
    case absolute
    case dotDot

    public var reason: String {
        switch self {
        case .absolute: return "has an absolute path"
        case .dotDot: return "contains '..'"
        }
    }
}

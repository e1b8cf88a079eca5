import LinuxSupport

/// The mount(2) flags a list of config.json mount options stands for.
///
/// Options that are flags become `flags`/`clearedFlags`, propagation options are kept apart (they
/// need their own mount call), and everything else ("mode=755", "size=64k") becomes filesystem data.
public struct MountOptions: Equatable, Sendable {
    public var flags: UInt = 0
    public var clearedFlags: UInt = 0
    public var propagation: [UInt] = []
    public var data: [String] = []
    public var isBind: Bool { flags & MountFlags.bind != 0 }
    public var isRecursive: Bool { flags & MountFlags.rec != 0 }
    /// Options skiff-runtime recognises but deliberately ignores (e.g. "tmpcopyup").
    public var ignored: [String] = []

    public init(_ options: [String]?, type: String? = nil) {
        for option in options ?? [] {
            if let (set, flag) = MountFlags.table[option] {
                if set {
                    flags |= flag
                    clearedFlags &= ~flag
                } else {
                    clearedFlags |= flag
                    flags &= ~flag
                }
            } else if let p = MountFlags.propagationTable[option] {
                propagation.append(p)
            } else if MountFlags.ignoredOptions.contains(option) {
                ignored.append(option)
            } else {
                data.append(option)
            }
        }
        if type == "bind" { flags |= MountFlags.bind }
    }

    /// The data string for mount(2), or nil when there is none.
    public var dataString: String? { data.isEmpty ? nil : data.joined(separator: ",") }

    /// Flags that need a remount to take effect on a bind mount.
    public var bindRemountFlags: UInt {
        flags
            & (MountFlags.rdonly | MountFlags.nosuid | MountFlags.nodev | MountFlags.noexec
                | MountFlags.noatime | MountFlags.nodiratime | MountFlags.relatime | MountFlags.strictatime)
    }
}

/// The option names of config.json mounts, by the MS_* flag (LinuxSupport.MountFlags) each stands for.
extension MountFlags {
    /// option -> (sets the flag?, flag)
    static let table: [String: (Bool, UInt)] = [
        "ro": (true, rdonly), "rw": (false, rdonly),
        "nosuid": (true, nosuid), "suid": (false, nosuid),
        "nodev": (true, nodev), "dev": (false, nodev),
        "noexec": (true, noexec), "exec": (false, noexec),
        "sync": (true, synchronous), "async": (false, synchronous),
        "dirsync": (true, dirsync),
        "remount": (true, remount),
        "mand": (true, mandlock), "nomand": (false, mandlock),
        "noatime": (true, noatime), "atime": (false, noatime),
        "nodiratime": (true, nodiratime), "diratime": (false, nodiratime),
        "relatime": (true, relatime), "norelatime": (false, relatime),
        "strictatime": (true, strictatime), "nostrictatime": (false, strictatime),
        "nosymfollow": (true, nosymfollow), "symfollow": (false, nosymfollow),
        "bind": (true, bind), "rbind": (true, bind | rec),
        "silent": (true, silent), "loud": (false, silent),
    ]

    static let propagationTable: [String: UInt] = [
        "private": `private`, "rprivate": `private` | rec,
        "shared": shared, "rshared": shared | rec,
        "slave": slave, "rslave": slave | rec,
        "unbindable": unbindable, "runbindable": unbindable | rec,
    ]

    static let ignoredOptions: Set<String> = ["tmpcopyup", "defaults", "noswap"]

    /// Every option name skiff-runtime understands, for `features`.
    public static var knownOptions: [String] {
        (Array(table.keys) + Array(propagationTable.keys) + Array(ignoredOptions)).sorted()
    }
}

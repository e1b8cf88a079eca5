import OCISpec

/// The Linux capability names and numbers, so config.json's "CAP_*" strings map to bits.
public enum CapabilityNames {
    public static let all: [String] = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
        "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
        "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
        "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
        "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN",
        "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
        "CAP_CHECKPOINT_RESTORE",
    ]

    /// The capability number for a name ("CAP_NET_ADMIN" or "NET_ADMIN", any case).
    public static func number(of name: String) -> Int? {
        var upper = name.uppercased()
        if !upper.hasPrefix("CAP_") { upper = "CAP_" + upper }
        return all.firstIndex(of: upper)
    }

    /// Refuses a name that is no capability at all ("CAP_TEST"): the spec wants an error for a
    /// value that maps to no kernel interface, and ignoring it would run the container with
    /// other capabilities than asked for. (A known one this kernel lacks is skipped, as runc does.)
    public static func checkKnown(_ capabilities: Capabilities?) throws {
        guard let capabilities else { return }
        let sets = [
            ("bounding", capabilities.bounding), ("effective", capabilities.effective),
            ("inheritable", capabilities.inheritable), ("permitted", capabilities.permitted),
            ("ambient", capabilities.ambient),
        ]
        for (set, names) in sets {
            for name in names ?? [] where number(of: name) == nil {
                throw RuntimeError.invalidConfig(
                    "process.capabilities.\(set): '\(name)' is not a capability: use names such as CAP_NET_ADMIN")
            }
        }
    }

    /// The bitmask of a list of names; unknown names are returned separately so callers can warn.
    public static func mask(_ names: [String]?, lastCap: Int) -> (mask: UInt64, unknown: [String]) {
        var mask: UInt64 = 0
        var unknown: [String] = []
        for name in names ?? [] {
            if let n = number(of: name), n <= lastCap { mask |= 1 << UInt64(n) } else { unknown.append(name) }
        }
        return (mask, unknown)
    }

    /// The capabilities docker and runc give a container by default.
    public static let defaults: [String] = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",
        "CAP_AUDIT_WRITE",
    ]
}

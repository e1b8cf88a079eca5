#if canImport(Glibc)
import Glibc
#endif
import CSeccomp
import CShim
import LinuxSupport
import OCISpec

/// Compiles config.json's `linux.seccomp` into a kernel filter with libseccomp and loads it.
///
/// Unknown syscall names are skipped (as runc does: profiles list syscalls of newer kernels and
/// other architectures); everything else that cannot be honoured is an error, never silently
/// weaker isolation.
struct SeccompFilter {
    let profile: Seccomp

    /// The libseccomp action for a spec action name.
    static func action(_ name: String, errnoRet: UInt32?, defaultErrno: UInt32 = 1) throws -> UInt32 {
        switch name {
        case "SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD": return 0x0000_0000
        case "SCMP_ACT_KILL_PROCESS": return 0x8000_0000
        case "SCMP_ACT_TRAP": return 0x0003_0000
        case "SCMP_ACT_ERRNO": return 0x0005_0000 | ((errnoRet ?? defaultErrno) & 0xffff)
        case "SCMP_ACT_TRACE": return 0x7ff0_0000 | ((errnoRet ?? defaultErrno) & 0xffff)
        case "SCMP_ACT_LOG": return 0x7ffc_0000
        case "SCMP_ACT_ALLOW": return 0x7fff_0000
        case "SCMP_ACT_NOTIFY":
            throw RuntimeError.unsupported("seccomp: SCMP_ACT_NOTIFY (a seccomp agent) is not supported by skiff-runtime yet")
        default:
            throw RuntimeError.invalidConfig("seccomp: unknown action '\(name)'")
        }
    }

    /// The libseccomp comparison operator for a spec operator name.
    static func comparison(_ op: String) throws -> scmp_compare {
        switch op {
        case "SCMP_CMP_NE": return SCMP_CMP_NE
        case "SCMP_CMP_LT": return SCMP_CMP_LT
        case "SCMP_CMP_LE": return SCMP_CMP_LE
        case "SCMP_CMP_EQ": return SCMP_CMP_EQ
        case "SCMP_CMP_GE": return SCMP_CMP_GE
        case "SCMP_CMP_GT": return SCMP_CMP_GT
        case "SCMP_CMP_MASKED_EQ": return SCMP_CMP_MASKED_EQ
        default: throw RuntimeError.invalidConfig("seccomp: unknown argument operator '\(op)'")
        }
    }

    /// Checks every action, operator and flag, so a bad profile fails `create`, not the exec.
    static func validate(_ profile: Seccomp) throws {
        _ = try action(profile.defaultAction, errnoRet: profile.defaultErrnoRet)
        for flag in profile.flags ?? [] where !knownFlags.contains(flag) {
            throw RuntimeError.invalidConfig("seccomp: unknown flag '\(flag)'")
        }
        for rule in profile.syscalls ?? [] {
            _ = try action(rule.action, errnoRet: rule.errnoRet)
            for arg in rule.args ?? [] {
                _ = try comparison(arg.op)
                guard arg.index < 6 else { throw RuntimeError.invalidConfig("seccomp: argument index \(arg.index) is out of range 0-5") }
            }
        }
    }

    static let knownFlags: Set<String> = ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"]

    /// Builds the filter and loads it into the calling process.
    func load() throws {
        let ctx = try build()
        defer { seccomp_release(ctx) }
        let rc = seccomp_load(ctx)
        if rc != 0 {
            throw RuntimeError.invalidConfig("seccomp: the kernel refused the filter: error \(-rc)")
        }
    }

    /// Compiles the filter to the BPF program the kernel runs (what `load` would install).
    func compile() throws -> [UInt8] {
        let ctx = try build()
        defer { seccomp_release(ctx) }
        let fd = skiff_memfd_create("skiff-seccomp")
        guard fd >= 0 else { throw RuntimeError.system(SystemError("memfd_create")) }
        defer { close(fd) }
        let rc = seccomp_export_bpf(ctx, fd)
        guard rc == 0 else { throw RuntimeError.invalidConfig("seccomp: cannot compile the filter: error \(-rc)") }
        lseek(fd, 0, SEEK_SET)
        return try FileIO.readAll(fd: fd, what: "the compiled seccomp filter")
    }

    /// The seccomp(2) flags the profile asks for, applied when a compiled program is loaded.
    var loadFlags: UInt32 {
        var flags: UInt32 = 0
        for flag in profile.flags ?? [] {
            switch flag {
            case "SECCOMP_FILTER_FLAG_TSYNC": flags |= 1
            case "SECCOMP_FILTER_FLAG_LOG": flags |= 2
            case "SECCOMP_FILTER_FLAG_SPEC_ALLOW": flags |= 4
            default: break  // validate() refused unknown flags
            }
        }
        return flags
    }

    /// The libseccomp filter context for the profile; the caller releases it.
    private func build() throws -> scmp_filter_ctx {
        let defaultAction = try Self.action(profile.defaultAction, errnoRet: profile.defaultErrnoRet)
        guard let ctx = seccomp_init(defaultAction) else {
            throw RuntimeError.invalidConfig("seccomp: cannot create a filter with default action \(profile.defaultAction)")
        }
        var built = false
        defer { if !built { seccomp_release(ctx) } }
        // Report kernel errors as they are, not as libseccomp's generic -ECANCELED.
        _ = seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1)
        // libseccomp sets no_new_privs on load by default; the spec's noNewPrivileges decides it
        // (as in runc), and the filter is loaded while CAP_SYS_ADMIN is still held when it is off.
        _ = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0)
        for arch in profile.architectures ?? [] {
            let name = arch.hasPrefix("SCMP_ARCH_") ? String(arch.dropFirst(10)).lowercased() : arch.lowercased()
            let token = seccomp_arch_resolve_name(name)
            guard token != 0 else { continue }  // An architecture this libseccomp does not know.
            let rc = seccomp_arch_add(ctx, token)
            if rc != 0 && rc != -17 /* EEXIST: the native one */ {
                throw RuntimeError.invalidConfig("seccomp: cannot add architecture \(arch): error \(-rc)")
            }
        }
        for flag in profile.flags ?? [] {
            switch flag {
            case "SECCOMP_FILTER_FLAG_TSYNC": _ = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)
            case "SECCOMP_FILTER_FLAG_LOG": _ = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1)
            case "SECCOMP_FILTER_FLAG_SPEC_ALLOW": _ = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_SSB, 1)
            default: throw RuntimeError.invalidConfig("seccomp: unknown flag '\(flag)'")
            }
        }
        for rule in profile.syscalls ?? [] {
            let action = try Self.action(rule.action, errnoRet: rule.errnoRet)
            if action == defaultAction { continue }  // libseccomp rejects rules equal to the default.
            let comparisons = try (rule.args ?? []).map { arg in
                scmp_arg_cmp(arg: UInt32(arg.index), op: try Self.comparison(arg.op), datum_a: arg.value, datum_b: arg.valueTwo ?? 0)
            }
            for name in rule.names {
                let number = seccomp_syscall_resolve_name(name)
                if number == __NR_SCMP_ERROR { continue }
                let rc = comparisons.withUnsafeBufferPointer {
                    seccomp_rule_add_array(ctx, action, number, UInt32($0.count), $0.baseAddress)
                }
                if rc != 0 {
                    throw RuntimeError.invalidConfig("seccomp: cannot add the rule for \(name) (\(rule.action)): error \(-rc)")
                }
            }
        }
        built = true
        return ctx
    }
}

#if canImport(Glibc)
import Glibc
#endif
import CShim
import LinuxSupport
import OCISpec

/// Gives the init stage the identity and limits of the container process: rlimits, OOM score,
/// user and groups, capabilities, no_new_privs, umask; and finds the program to execute.
struct ProcessSetup {
    let process: Process
    /// Every system call goes through here (a recording double in the plan tests).
    var syscalls: any InitSyscalls = LinuxInitSyscalls()

    func applyRlimits() throws {
        for limit in process.rlimits ?? [] {
            guard let resource = RlimitNames.resource(of: limit.type) else {
                throw RuntimeError.invalidConfig("unknown rlimit type '\(limit.type)'")
            }
            do {
                try syscalls.setrlimit(resource, soft: limit.soft, hard: limit.hard)
            } catch let error as SystemError {
                throw RuntimeError.invalidConfig(
                    "cannot set \(limit.type) to soft \(limit.soft) hard \(limit.hard): \(String(cString: strerror(error.errno))) (raising a hard limit needs CAP_SYS_RESOURCE)"
                )
            }
        }
    }

    func applyOOMScore() throws {
        guard let score = process.oomScoreAdj else { return }
        do {
            try syscalls.writeExisting("/proc/self/oom_score_adj", "\(score)")
        } catch {
            throw RuntimeError.invalidConfig("cannot set oomScoreAdj to \(score): \(error)")
        }
    }

    /// Switches to the process's uid/gid/groups, keeping capabilities so they can be set after.
    func applyUser(setgroupsAllowed: Bool) throws {
        let user = process.user
        if setgroupsAllowed {
            let groups = (user.additionalGids ?? []).map { gid_t($0) }
            try syscalls.setgroups(groups)
        }
        try? syscalls.prctl(PrctlOption.setKeepCaps, 1, 0)
        do {
            try syscalls.setresgid(user.gid)
        } catch let error as SystemError {
            throw RuntimeError.invalidConfig("cannot switch to gid \(user.gid): \(String(cString: strerror(error.errno)))")
        }
        do {
            try syscalls.setresuid(user.uid)
        } catch let error as SystemError {
            throw RuntimeError.invalidConfig("cannot switch to uid \(user.uid): \(String(cString: strerror(error.errno)))")
        }
        try? syscalls.prctl(PrctlOption.setKeepCaps, 0, 0)
    }

    /// Drops the bounding set first (needs CAP_SETPCAP, so before the user switch).
    func dropBoundingSet() throws {
        let last = syscalls.lastCapability()
        let keep = CapabilityNames.mask(process.capabilities?.bounding, lastCap: last).mask
        for cap in 0...last where keep & (1 << UInt64(cap)) == 0 {
            do {
                try syscalls.prctl(PrctlOption.capBoundingSetDrop, UInt(cap), 0)
            } catch let error as SystemError where error.errno != EINVAL {
                throw SystemError("drop \(CapabilityNames.all[safe: cap] ?? "capability \(cap)") from the bounding set", errno: error.errno)
            } catch is SystemError {}
        }
    }

    /// Sets effective, permitted and inheritable sets, then raises the ambient ones.
    func applyCapabilities() throws {
        let caps = process.capabilities ?? Capabilities()
        let last = syscalls.lastCapability()
        let e = CapabilityNames.mask(caps.effective, lastCap: last).mask
        let p = CapabilityNames.mask(caps.permitted, lastCap: last).mask
        let i = CapabilityNames.mask(caps.inheritable, lastCap: last).mask
        let words: [UInt32] = [
            UInt32(truncatingIfNeeded: e), UInt32(truncatingIfNeeded: e >> 32),
            UInt32(truncatingIfNeeded: p), UInt32(truncatingIfNeeded: p >> 32),
            UInt32(truncatingIfNeeded: i), UInt32(truncatingIfNeeded: i >> 32),
        ]
        do {
            try syscalls.capset(words)
        } catch let error as SystemError {
            throw RuntimeError.invalidConfig(
                "cannot set capabilities: \(String(cString: strerror(error.errno))) (every effective capability must also be permitted and in the bounding set)"
            )
        }
        try? syscalls.prctl(PrctlOption.capAmbient, PrctlOption.ambientClearAll, 0)
        // As runc does, ambient capabilities the kernel cannot raise (not both permitted and
        // inheritable, as in `runc spec`'s default) are skipped rather than failing the container.
        for name in caps.ambient ?? [] {
            guard let n = CapabilityNames.number(of: name), n <= last,
                p & (1 << UInt64(n)) != 0, i & (1 << UInt64(n)) != 0
            else { continue }
            do {
                try syscalls.prctl(PrctlOption.capAmbient, PrctlOption.ambientRaise, UInt(n))
            } catch {
                throw RuntimeError.invalidConfig("cannot raise ambient capability \(name): it must be permitted and inheritable too")
            }
        }
    }

    func applyNoNewPrivileges() throws {
        if process.noNewPrivileges == true {
            do {
                try syscalls.prctl(PrctlOption.setNoNewPrivileges, 1, 0)
            } catch let error as SystemError {
                throw SystemError("prctl PR_SET_NO_NEW_PRIVS", errno: error.errno)
            }
        }
    }

    func applyUmask() {
        if let mask = process.user.umask { syscalls.umask(mode_t(mask)) }
    }

    /// Resolves args[0] the way execvp would, using the container's PATH.
    func resolveExecutable() throws -> String {
        guard let program = process.args?.first, !program.isEmpty else {
            throw RuntimeError.invalidConfig("process.args must name a program to run")
        }
        if program.contains("/") {
            try checkExecutable(program, name: program)
            return program
        }
        let pathVariable =
            (process.env ?? []).last(where: { $0.hasPrefix("PATH=") }).map { String($0.dropFirst(5)) }
            ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        for dir in pathVariable.split(separator: ":", omittingEmptySubsequences: false) {
            let candidate = (dir.isEmpty ? "." : String(dir)) + "/" + program
            var st = stat()
            if stat(candidate, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, access(candidate, X_OK) == 0 {
                return candidate
            }
        }
        throw RuntimeError.cannotExecute(.executableNotFound, "exec: \"\(program)\": executable file not found in $PATH")
    }

    private func checkExecutable(_ path: String, name: String) throws {
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw RuntimeError.cannotExecute(.executableNotFound, "exec: \"\(name)\": stat \(path): no such file or directory")
        }
        guard (st.st_mode & S_IFMT) != S_IFDIR else {
            throw RuntimeError.cannotExecute(.notExecutable, "exec: \"\(name)\": is a directory: permission denied")
        }
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}

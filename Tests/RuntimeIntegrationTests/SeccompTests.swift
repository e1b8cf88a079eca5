import Foundation
import OCISpec
import Testing

/// linux.seccomp: rules with actions and argument conditions, checked by making the syscalls.
@Suite(.enabled(if: TestEnvironment.canRunContainers, "needs root and busybox-static: run scripts/test.sh as root"))
struct SeccompTests {
    @Test(arguments: [true, false])
    func errnoRulesBlockSyscalls(noNewPrivileges: Bool) throws {
        let b = try TestBundle("seccomp")
        b.spec.process?.noNewPrivileges = noNewPrivileges
        b.spec.linux?.seccomp = Seccomp(
            defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            syscalls: [
                SeccompSyscall(names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1),
                SeccompSyscall(names: ["no_such_syscall_in_any_kernel"], action: "SCMP_ACT_ERRNO"),
            ])
        b.shell("mkdir /tmp/blocked 2>&1 || echo mkdir-denied; grep Seccomp: /proc/self/status")
        let r = try b.run()
        #expect(r.out.contains("mkdir-denied"), "\(r)")
        #expect(r.out.contains("Operation not permitted"))
        #expect(r.out.contains("Seccomp:\t2"))
    }

    @Test func argumentConditions() throws {
        let b = try TestBundle("seccompargs")
        // Deny umask(077) only: the same syscall with another argument stays allowed.
        b.spec.linux?.seccomp = Seccomp(
            defaultAction: "SCMP_ACT_ALLOW",
            syscalls: [
                SeccompSyscall(
                    names: ["umask"], action: "SCMP_ACT_ERRNO", errnoRet: 13,
                    args: [SeccompArg(index: 0, value: 0o077, valueTwo: nil, op: "SCMP_CMP_EQ")])
            ])
        b.shell("umask 022; umask; umask 077; umask")
        let r = try b.run()
        // busybox ignores umask's result: the second read-back shows the call was refused.
        #expect(r.out == "0022\n0022\n", "\(r)")
    }

    /// The second container with a profile loads the program compiled for the first from the
    /// cache under the state root; a damaged cache file is recompiled, never trusted.
    @Test func compiledProgramsAreCachedAndCheckedBeforeUse() throws {
        let b = try TestBundle("seccompcache")
        b.spec.linux?.seccomp = Seccomp(
            defaultAction: "SCMP_ACT_ALLOW",
            syscalls: [
                SeccompSyscall(names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1)
            ])
        b.shell("mkdir /tmp/blocked 2>&1 || echo mkdir-denied")
        let first = try b.run()
        #expect(first.out.contains("mkdir-denied"), "\(first)")
        let cache = b.root + "/.seccomp-cache"
        let files = try FileManager.default.contentsOfDirectory(atPath: cache)
        #expect(files.count == 1 && files[0].hasSuffix(".bpf"), "\(files)")
        let list = try Command.run(TestEnvironment.runtimeBinary, ["--root", b.root, "list", "--format", "json"])
        #expect(!list.out.contains("seccomp-cache"), "the cache is not a container: \(list)")

        let second = try b.run()
        #expect(second.out.contains("mkdir-denied"), "\(second)")

        // Damage the program part (keep the header and profile): the file is not a whole number of
        // instructions any more, so it must be ignored and rewritten.
        let path = cache + "/" + files[0]
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        bytes.removeLast(3)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let third = try b.run()
        #expect(third.out.contains("mkdir-denied"), "\(third)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)).count == bytes.count + 3, "the damaged file was rewritten")
    }

    @Test func unknownActionIsRejected() throws {
        let b = try TestBundle("seccompbad")
        b.spec.linux?.seccomp = Seccomp(defaultAction: "SCMP_ACT_EXPLODE")
        let r = try b.create()
        #expect(r.code != 0 && r.err.contains("SCMP_ACT_EXPLODE"), "\(r)")
        #expect(!FileManager.default.fileExists(atPath: b.root + "/" + b.id))
    }
}

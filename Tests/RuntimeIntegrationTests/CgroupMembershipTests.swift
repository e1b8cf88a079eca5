import ContainerRuntime
import Foundation
import LinuxSupport
import OCISpec
import Testing

/// Init and exec processes end up in the container's cgroup in every mounted hierarchy, whichever
/// way they got there: cloned into the cgroup2 directory and joining the v1 ones themselves
/// (no user namespace), or moved by the runtime (a user namespace).
@Suite(.enabled(if: TestEnvironment.canRunContainers, "needs root and busybox-static: run scripts/test.sh as root"))
struct CgroupMembershipTests {
    /// The hierarchies of /proc/PID/cgroup text that are mounted here and whose path is not `expected`.
    static func misplaced(_ text: String, expected: String) throws -> [String] {
        let layout = try CgroupLayout.detect()
        return text.split(separator: "\n").filter { line in
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { return false }
            let mounted =
                fields[1].isEmpty ? layout.unified != nil : fields[1].split(separator: ",").contains { layout.v1[String($0)] != nil }
            return mounted && fields[2] != expected
        }.map(String.init)
    }

    @Test(arguments: [false, true])
    func initAndExecAreInEveryHierarchy(userNamespace: Bool) throws {
        let b = try TestBundle(userNamespace ? "cgmember-userns" : "cgmember")
        b.spec.linux?.namespaces?.removeAll { $0.type == .cgroup }
        if userNamespace { try b.useUserNamespace() }
        b.shell("sleep 30")
        let created = try b.create()
        try #require(created.code == 0, "\(created)")
        let pid = try #require(try b.state()?.pid)
        let expected = "/skiff-test/" + b.id
        let initCgroups = try FileIO.readString("/proc/\(pid)/cgroup")
        #expect(try Self.misplaced(initCgroups, expected: expected).isEmpty, "\(initCgroups)")
        #expect(try b.runtime(["start", b.id]).code == 0)
        let exec = try b.runtime(["exec", b.id, "cat", "/proc/self/cgroup"])
        #expect(exec.code == 0, "\(exec)")
        #expect(try Self.misplaced(exec.out, expected: expected).isEmpty, "\(exec.out)")
        #expect(try b.runtime(["delete", "--force", b.id]).code == 0)
    }
}

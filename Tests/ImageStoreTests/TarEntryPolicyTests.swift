#if canImport(Glibc)
import Glibc
#endif
import ImageStore
import Testing

/// The one set of rules for tar entries, as the layer unpacker and `cp -` apply it.
struct TarEntryPolicyTests {
    let layer = TarEntryPolicy.imageLayer(preserveOwnership: true)
    let copy = TarEntryPolicy.copyIntoContainer(archive: false)
    let copyArchive = TarEntryPolicy.copyIntoContainer(archive: true)

    func entry(_ name: String, _ type: mode_t = S_IFREG, _ change: (inout TarEntryFields) -> Void = { _ in }) -> TarEntryFields {
        var fields = TarEntryFields(name: name, type: type)
        change(&fields)
        return fields
    }

    func refusal(_ policy: TarEntryPolicy, _ fields: TarEntryFields) -> String? {
        do {
            _ = try policy.plan(fields)
            return nil
        } catch {
            return error.reason
        }
    }

    @Test func hostileEntriesAreRefusedByEveryCaller() {
        for policy in [layer, copy, copyArchive] {
            #expect(refusal(policy, entry("/etc/passwd")) == "has an absolute path")
            #expect(refusal(policy, entry("a/../../b")) == "contains '..'")
            #expect(refusal(policy, entry("big") { $0.uid = 1 << 32 }) == "has an impossible owner 4294967296:0")
            #expect(refusal(policy, entry("minus") { $0.gid = Int64(UInt32.max) }) != nil)
            #expect(refusal(policy, entry("link") { $0.hardlink = "./" }) == "is a hardlink to the root of the archive")
            #expect(refusal(policy, entry("link") { $0.hardlink = "../x" }) == "is a hardlink to '../x', which contains '..'")
            #expect(refusal(policy, entry("dev", S_IFCHR) { $0.deviceMajor = 1 << 12 }) == "has an impossible device number")
            #expect(refusal(policy, entry("sym", S_IFLNK)) == "is a symlink without a target")
            #expect(refusal(policy, entry("odd", 0o110000)) != nil)
            #expect(refusal(policy, entry("neg") { $0.size = -1 }) != nil)
        }
    }

    @Test func ownershipIsTheArchivesTheContainersRootsOrTheCreators() throws {
        let fields = entry("a/b") {
            $0.uid = 1000
            $0.gid = 1001
            $0.permissions = 0o4755
        }
        #expect(try layer.plan(fields).owner == TarEntryOwner(uid: 1000, gid: 1001))
        #expect(try copyArchive.plan(fields).owner == TarEntryOwner(uid: 1000, gid: 1001))
        #expect(try copy.plan(fields).owner == TarEntryOwner(uid: 0, gid: 0))
        #expect(try TarEntryPolicy.imageLayer(preserveOwnership: false).plan(fields).owner == nil)
        let plan = try copy.plan(fields)
        #expect(plan.mode == 0o4755 && plan.path?.parent == "a" && plan.path?.name == "b" && plan.kind == .regular(size: 0))
    }

    @Test func whiteoutsAreMarkersOnlyInLayers() throws {
        #expect(try layer.plan(entry("d/.wh.gone")).kind == .whiteout(hidden: "gone"))
        #expect(try layer.plan(entry("d/.wh..wh..opq")).kind == .opaqueDirectory)
        #expect(try layer.plan(entry("d/.wh..wh.plnk")).kind == .skipped)
        #expect(refusal(layer, entry("d/.wh...")) == "is a whiteout naming '..'")
        #expect(try copy.plan(entry("d/.wh.gone")).kind == .regular(size: 0))
        #expect(try copy.plan(entry("./", S_IFDIR)).path == nil)
        #expect(try copy.plan(entry("sock", S_IFSOCK)).kind == .skipped)
    }

    /// What a micro-VM's guest sends to the host: hostile like any stream, and without -a no
    /// setuid or setgid file and no device node lands on the host.
    @Test func copiesOutOfAContainerAreHostSafeWithoutArchive() throws {
        let out = TarEntryPolicy.copyOutOfContainer(archive: false, owner: TarEntryOwner(uid: 1000, gid: 1000))
        let outArchive = TarEntryPolicy.copyOutOfContainer(archive: true, owner: TarEntryOwner(uid: 1000, gid: 1000))
        #expect(refusal(out, entry("/etc/passwd")) == "has an absolute path")
        let suid = entry("bin/su") {
            $0.permissions = 0o6755
            $0.uid = 0
        }
        #expect(try out.plan(suid).mode == 0o755)
        #expect(try out.plan(suid).owner == TarEntryOwner(uid: 1000, gid: 1000))
        #expect(try outArchive.plan(suid).mode == 0o6755)
        #expect(try outArchive.plan(suid).owner == TarEntryOwner(uid: 0, gid: 0))
        let device = entry("dev/sda", S_IFBLK) { $0.deviceMajor = 8 }
        #expect(try out.plan(device).kind == .skipped)
        #expect(try outArchive.plan(device).kind != .skipped)
        #expect(try out.plan(entry("tmp", S_IFDIR) { $0.permissions = 0o1777 }).mode == 0o1777)
    }
}

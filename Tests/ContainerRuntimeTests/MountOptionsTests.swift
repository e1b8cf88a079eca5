import Testing
@testable import ContainerRuntime
import LinuxSupport

@Suite struct MountOptionsTests {
    @Test func flagsPropagationAndData() {
        let o = MountOptions(["rbind", "ro", "nosuid", "rslave", "mode=755", "size=64k", "tmpcopyup"])
        #expect(o.isBind && o.isRecursive)
        #expect(o.flags & MountFlags.rdonly != 0 && o.flags & MountFlags.nosuid != 0)
        #expect(o.propagation == [MountFlags.slave | MountFlags.rec])
        #expect(o.dataString == "mode=755,size=64k")
        #expect(o.ignored == ["tmpcopyup"])
    }

    @Test func laterOptionsWin() {
        let o = MountOptions(["ro", "rw", "noexec", "exec"])
        #expect(o.flags & MountFlags.rdonly == 0)
        #expect(o.flags & MountFlags.noexec == 0)
        #expect(o.clearedFlags & MountFlags.rdonly != 0)
    }

    @Test func bindTypeImpliesBind() {
        #expect(MountOptions(nil, type: "bind").isBind)
        #expect(!MountOptions(["nosuid"], type: "tmpfs").isBind)
    }
}

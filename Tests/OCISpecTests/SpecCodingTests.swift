import Foundation
import Testing
@testable import OCISpec

@Suite struct SpecCodingTests {
    @Test func decodesMinimalSpec() throws {
        let json = #"{"ociVersion":"1.0.2","root":{"path":"rootfs"},"process":{"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/"}}"#
        let spec = try JSONDecoder().decode(Spec.self, from: Data(json.utf8))
        #expect(spec.root?.path == "rootfs")
        #expect(spec.process?.args == ["sh"])
    }
}

import OCISpec
import Testing
@testable import ContainerRuntime

@Suite struct SpecValidationTests {
    @Test(arguments: ["1.0.0", "1.0.2-dev", "1.1.0", "1.2.0", "1.2.1+dev"])
    func acceptsSupportedVersions(_ v: String) { #expect(OCIVersions.isSupported(v)) }

    @Test(arguments: ["0.9.0", "2.0.0", "1.3.0", "abc", ""])
    func rejectsOtherVersions(_ v: String) { #expect(!OCIVersions.isSupported(v)) }

    @Test func missingFieldsAreNamed() {
        let json = #"{"ociVersion":"1.0.0","process":{"args":["sh"],"cwd":"/"}}"#
        #expect {
            _ = try BundleLoader.decode(Array(json.utf8))
        } throws: { error in
            "\(error)".contains("process.user")
        }
    }

    @Test func wrongTypesAreNamed() {
        let json = #"{"ociVersion":"1.0.0","hostname":5}"#
        #expect {
            _ = try BundleLoader.decode(Array(json.utf8))
        } throws: { error in
            "\(error)".contains("hostname") && "\(error)".contains("string")
        }
    }

    @Test func duplicateNamespacesAreRejected() {
        var spec = DefaultSpec.make()
        spec.linux?.namespaces?.append(Namespace(type: .pid))
        #expect(throws: RuntimeError.self) { try BundleLoader.validate(spec) }
    }

    @Test func containerIDs() {
        #expect(throws: Never.self) { try StateStore.validate(id: "web-1_a.b+c") }
        for bad in ["", "../x", "a/b", ".hidden", "sp ace"] {
            #expect(throws: RuntimeError.self) { try StateStore.validate(id: bad) }
        }
    }

    @Test func capabilityMasks() {
        let (mask, unknown) = CapabilityNames.mask(["CAP_CHOWN", "kill", "CAP_BOGUS"], lastCap: 40)
        #expect(mask == 0b10_0001)
        #expect(unknown == ["CAP_BOGUS"])
    }
}

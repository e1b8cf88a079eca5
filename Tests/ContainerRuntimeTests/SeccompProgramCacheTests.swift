import Testing
@testable import ContainerRuntime

/// The cache file format of compiled seccomp programs: only an exact profile match is used.
struct SeccompProgramCacheTests {
    let key = Array(#"{"defaultAction":"SCMP_ACT_ALLOW"}"#.utf8)
    let program: [UInt8] = Array(0..<16)

    func file(key: [UInt8], program: [UInt8], declaredLength: Int? = nil) -> [UInt8] {
        let length = UInt32(declaredLength ?? key.count)
        return Array("skiff-seccomp-1\n".utf8) + [
            UInt8(length >> 24), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff),
        ]
            + key + program
    }

    @Test func readsBackWhatMatchesExactly() {
        #expect(SeccompProgramCache.program(in: file(key: key, program: program), key: key) == program)
    }

    @Test func refusesAnythingElse() {
        var otherKey = key
        otherKey[2] ^= 1
        #expect(SeccompProgramCache.program(in: file(key: otherKey, program: program), key: key) == nil, "another profile")
        #expect(
            SeccompProgramCache.program(in: file(key: key, program: Array(program.dropLast(3))), key: key) == nil, "a partial instruction")
        #expect(SeccompProgramCache.program(in: file(key: key, program: []), key: key) == nil, "no program")
        #expect(
            SeccompProgramCache.program(in: file(key: key, program: program, declaredLength: 1 << 30), key: key) == nil, "a hostile length")
        #expect(SeccompProgramCache.program(in: Array("garbage".utf8), key: key) == nil)
        #expect(SeccompProgramCache.program(in: [], key: key) == nil)
    }

    @Test func namesAreStableHexHashes() {
        #expect(SeccompProgramCache.hexHash([]) == "cbf29ce484222325")
        #expect(SeccompProgramCache.hexHash(Array("a".utf8)) == "af63dc4c8601ec8c")
        #expect(SeccompProgramCache.hexHash(key).count == 16)
    }
}

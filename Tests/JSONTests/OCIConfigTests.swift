import Testing
import JSON

@Suite struct OCIConfigTests {
    let bytes = Array(ociConfigFixture.utf8)

    @Test func decodesEveryField() throws {
        let config = try JSONDecoding.decode(OCIConfig.self, from: bytes)
        #expect(config.ociVersion == "1.0.2-dev")
        #expect(config.process?.user.additionalGids == [10, 4294967294])
        #expect(config.process?.capabilities?.ambient == ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"])
        #expect(config.process?.rlimits == [OCIConfig.Rlimit(type: "RLIMIT_NOFILE", hard: 1024, soft: 1024)])
        #expect(config.process?.oomScoreAdj == -1000)
        #expect(config.root == OCIConfig.Root(path: "rootfs", readonly: true))
        #expect(config.mounts?.count == 7)
        #expect(config.mounts?[0].options == nil)
        #expect(config.mounts?[2].options?.last == "gid=5")
        #expect(config.linux?.namespaces?.map(\.type) == [.pid, .network, .ipc, .uts, .mount])
        #expect(config.linux?.resources?.memory == OCIConfig.Memory(limit: 536870912, swap: -1, reservation: 9223372036854771712))
        #expect(config.linux?.sysctl?["net.ipv4.ip_forward"] == "1")
        #expect(config.linux?.seccomp?.syscalls?[1].args?[0].value == 4294967295)
        #expect(config.hooks?.createRuntime?[0].args?[2] == #"--note=é/ü "quoted""#)
        #expect(config.annotations?["org.opencontainers.image.ref.name"] == "busybox:1.36")
    }

    @Test func reencodesToTheSameDocument() throws {
        let config = try JSONDecoding.decode(OCIConfig.self, from: bytes)
        let original = try JSONValue.parse(bytes)
        for pretty in [false, true] {
            let encoded = try JSONEncoding.encode(config, pretty: pretty)
            #expect(try JSONValue.parse(encoded) == original)
            #expect(try JSONDecoding.decode(OCIConfig.self, from: encoded) == config)
        }
    }

    @Test func prettySerializationMatchesRuncLayout() throws {
        // runc indents with tabs; the serializer uses two spaces and is otherwise identical.
        let expected = ociConfigFixture.replacingTabs()
        let value = try JSONValue.parse(bytes)
        #expect(String(decoding: value.serialized(pretty: true), as: UTF8.self) == expected)
    }

    @Test func reportsABrokenFieldByPath() {
        let broken = ociConfigFixture.replacing(#""hard": 1024"#, with: #""hard": "unlimited""#)
        do {
            _ = try JSONDecoding.decode(OCIConfig.self, from: Array(broken.utf8))
            Issue.record("decoding should fail")
        } catch let error as DecodingError {
            #expect(
                JSONDecoding.describe(error)
                    == "field 'process.rlimits[0].hard': expected a number (UInt64) but found a string")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }
}

private extension String {
    func replacingTabs() -> String {
        String(decoding: utf8.flatMap { $0 == 0x09 ? [0x20, 0x20] : [$0] }, as: UTF8.self)
    }
}

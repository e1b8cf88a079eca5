import Foundation
import Testing
@testable import Registry

@Suite struct AuthChallengeTests {
    @Test func parsesBearerWithCommasInScope() throws {
        let header =
            #"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull,push""#
        let challenge = try #require(AuthChallenge.parse(header))
        #expect(challenge.scheme == "bearer")
        #expect(challenge.parameters["realm"] == "https://auth.docker.io/token")
        #expect(challenge.parameters["service"] == "registry.docker.io")
        #expect(challenge.parameters["scope"] == "repository:library/busybox:pull,push")
    }

    @Test func parsesBasicAndUnquotedValues() throws {
        let challenge = try #require(AuthChallenge.parse(#"Basic realm="Registry Realm""#))
        #expect(challenge.scheme == "basic")
        #expect(challenge.parameters["realm"] == "Registry Realm")
        let unquoted = try #require(AuthChallenge.parse("Bearer realm=https://x/token, service=reg"))
        #expect(unquoted.parameters["realm"] == "https://x/token")
        #expect(unquoted.parameters["service"] == "reg")
        #expect(AuthChallenge.parse("") == nil)
    }

    @Test func parsesEscapedQuotes() throws {
        let challenge = try #require(AuthChallenge.parse(#"Bearer realm="a\"b""#))
        #expect(challenge.parameters["realm"] == #"a"b"#)
    }
}

@Suite struct CredentialStoreTests {
    func temporaryPath() -> String { "/tmp/skiff-cred-test-\(UUID().uuidString)" }

    @Test func savesInDockerFormatAndKeepsOtherKeys() throws {
        let directory = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/auth.json"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try #"{"auths":{"other.example":{"auth":"eDp5"}},"credHelpers":{"gcr.io":"gcloud"}}"#.write(
            toFile: file, atomically: true, encoding: .utf8)
        let store = CredentialStore(skiffFile: file, dockerFile: directory + "/none.json")
        try store.save(Credentials(username: "u", password: "p:w"), for: "127.0.0.1:5000")
        #expect(try store.credentials(for: "127.0.0.1:5000") == Credentials(username: "u", password: "p:w"))
        #expect(try store.credentials(for: "other.example") == Credentials(username: "x", password: "y"))
        let text = try String(contentsOfFile: file, encoding: .utf8)
        #expect(text.contains("credHelpers"))
        #expect(text.contains(Data("u:p:w".utf8).base64EncodedString()))
        #expect(try store.remove(for: "127.0.0.1:5000"))
        #expect(try store.credentials(for: "127.0.0.1:5000") == nil)
    }

    @Test func dockerHubUsesTheV1Key() throws {
        let directory = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let dockerFile = directory + "/config.json"
        try #"{"auths":{"https://index.docker.io/v1/":{"auth":"\#(Data("hub:pw".utf8).base64EncodedString())"}}}"#
            .write(toFile: dockerFile, atomically: true, encoding: .utf8)
        let store = CredentialStore(skiffFile: directory + "/skiff.json", dockerFile: dockerFile)
        #expect(try store.credentials(for: "docker.io") == Credentials(username: "hub", password: "pw"))
    }

    @Test func brokenFileIsAClearError() throws {
        let directory = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try "{not json".write(toFile: directory + "/auth.json", atomically: true, encoding: .utf8)
        let store = CredentialStore(skiffFile: directory + "/auth.json", dockerFile: directory + "/none.json")
        #expect(throws: RegistryError.self) { try store.credentials(for: "x.example") }
    }
}

@Suite struct TransportPolicyTests {
    @Test func plainHTTPOnlyForLoopbackOrInsecure() {
        let options = RegistryOptions()
        #expect(RegistryClient.allowsPlainHTTP("127.0.0.1:5000", options: options))
        #expect(RegistryClient.allowsPlainHTTP("localhost", options: options))
        #expect(RegistryClient.allowsPlainHTTP("[::1]:5000", options: options))
        #expect(!RegistryClient.allowsPlainHTTP("registry.example.com", options: options))
        #expect(
            !RegistryClient.allowsPlainHTTP("127.0.0.1.example.com:80", options: options),
            "a hostname that starts like a loopback address is not one")
        #expect(RegistryClient.allowsPlainHTTP("127.1.2.3:5000", options: options))
        var insecure = RegistryOptions()
        insecure.insecureRegistries = ["registry.example.com"]
        #expect(RegistryClient.allowsPlainHTTP("registry.example.com", options: insecure))
    }
}

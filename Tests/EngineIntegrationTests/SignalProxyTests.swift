import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `run` without a terminal passes the signals it gets to the container (docker's default
/// --sig-proxy=true); with --sig-proxy=false they end the command and the container runs on.
@Suite(.serialized, .enabled(if: engineTestsEnabled, skipReason))
struct SignalProxyTests {
    static let script = "trap 'echo got-int; exit 7' INT; echo ready; while true; do sleep 0.1; done"

    @Test func signalsReachTheContainerByDefault() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let session = try PtySession(fixture.commandLine("run", ["--rm", fixture.image, "sh", "-c", Self.script]))
        #expect(session.expect("ready"), "\(session.text)")
        kill(session.pid, SIGINT)
        #expect(session.wait() == 7, "\(session.text)")
        #expect(session.text.contains("got-int"))
    }

    @Test func withoutTheProxyTheContainerRunsOn() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let name = "sigproxy-\(getpid())"
        let session = try PtySession(
            fixture.commandLine("run", ["--sig-proxy=false", "--name", name, fixture.image, "sh", "-c", Self.script]))
        #expect(session.expect("ready"), "\(session.text)")
        kill(session.pid, SIGINT)
        #expect(session.wait() == 128 + SIGINT, "\(session.text)")
        let ps = try fixture.skiff("ps", ["--format", "json"], check: true).stdout
        #expect(ps.contains(name), "the container still runs: \(ps)")
        let logs = try fixture.skiff("logs", [name], check: true).stdout
        #expect(!logs.contains("got-int"), "\(logs)")
    }
}

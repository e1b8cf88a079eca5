import Foundation
import Testing

/// `--format` Go templates on inspect and ps, as scripts written for docker use them.
@Suite(.enabled(if: engineTestsEnabled, skipReason))
struct FormatTemplateTests {
    @Test func inspectAndPsRenderTemplates() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let name = "fmt-\(getpid())"
        let id = try fixture.skiff("run", ["-d", "--name", name, "--label", "tier=front", fixture.image, "sleep", "300"], check: true)
            .stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let pid = try fixture.skiff("inspect", ["-f", "{{.State.Pid}}", name], check: true).stdout
        #expect(Int(pid.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0 > 1, "\(pid)")
        let address = try fixture.skiff(
            "inspect", ["--format", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", id], check: true
        ).stdout
        #expect(address.hasPrefix("10.") && address.hasSuffix("\n"), "\(address)")
        let labels = try fixture.skiff("inspect", ["-f", "{{json .Config.Labels}} {{index .Config.Labels \"tier\"}}", id], check: true)
            .stdout
        #expect(labels == "{\"tier\":\"front\"} front\n", "\(labels)")

        #expect(try fixture.skiff("ps", ["--format", "{{.Names}} {{.State}}"], check: true).stdout == "\(name) running\n")
        let table = try fixture.skiff("ps", ["--format", "table {{.ID}}\\t{{.Names}}\\t{{.Labels}}"], check: true).stdout
        let lines = table.split(separator: "\n")
        #expect(lines.count == 2 && lines[0].hasPrefix("CONTAINER ID   NAMES") && lines[1].hasPrefix(String(id.prefix(12))), "\(table)")
        #expect(lines.last?.hasSuffix("tier=front") == true, "\(table)")

        let images = try run([skiffBinary, "images", "--root", fixture.root, "--format", "{{.Repository}}:{{.Tag}} {{len .ID}}"]).stdout
        #expect(images.split(separator: "\n").contains { $0.hasSuffix(" 12") && $0.contains(":") }, "\(images)")

        let bad = try fixture.skiff("inspect", ["-f", "{{.State.Pid", id])
        #expect(bad.status == 125 && bad.stderr.contains("--format"), "\(bad.stderr)")
        let unknown = try fixture.skiff("ps", ["--format", "{{nosuch .ID}}"])
        #expect(unknown.status == 125 && unknown.stderr.contains("nosuch"), "\(unknown.stderr)")
    }
}

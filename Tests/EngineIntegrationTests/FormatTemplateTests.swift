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

        // Variables, pipelines, parenthesized pipelines and docker's ps method .Label.
        let labelled = try fixture.skiff(
            "ps", ["--format", #"{{.Names}} {{.Label "tier"}} [{{.Label "none"}}] {{.Labels | printf "%q"}}"#], check: true)
        #expect(labelled.stdout == "\(name) front [] \"tier=front\"\n", "\(labelled.stdout)")
        let labelTable = try fixture.skiff("ps", ["--format", #"table {{.Names}}\t{{.Label "tier" | upper}}"#], check: true).stdout
        let width = max(5, name.count) + 3
        let expectedTable = [
            "NAMES".padding(toLength: width, withPad: " ", startingAt: 0) + "LABEL",
            name.padding(toLength: width, withPad: " ", startingAt: 0) + "FRONT",
        ]
        #expect(labelTable.split(separator: "\n").map(String.init) == expectedTable, "\(labelTable)")
        let ranged = try fixture.skiff(
            "inspect",
            [
                "-f",
                #"{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}} {{range $net, $n := .NetworkSettings.Networks}}{{$net}} {{($n).IPAddress | len | lt 6}}{{end}}"#,
                id,
            ],
            check: true
        ).stdout
        #expect(ranged.hasPrefix("tier=front; ") && ranged.hasSuffix(" true\n"), "\(ranged)")

        // stats with templates, docker's fields and table header.
        let stats = try fixture.skiff(
            "stats", ["--no-stream", "--format", "{{.Name}} {{.Container}} {{len .ID}} {{.PIDs}}", name], check: true
        ).stdout
        #expect(stats == "\(name) \(name) 12 1\n", "\(stats)")
        let statsTable = try fixture.skiff("stats", ["--no-stream", "--format", "table {{.Name}}\\t{{.MemUsage}}", name], check: true)
            .stdout
        #expect(
            statsTable.hasPrefix("NAME") && statsTable.contains("MEM USAGE / LIMIT") && statsTable.contains("\n\(name) "), "\(statsTable)")

        // docker's exit codes: 64 for an inspect template that does not parse, 1 for ps and
        // stats, 1 for one that fails on an item; the message names the place.
        let bad = try fixture.skiff("inspect", ["-f", "{{.State.Pid", id])
        #expect(bad.status == 64 && bad.stderr.contains("template: :1:0: unclosed action"), "\(bad.stderr)")
        let unknown = try fixture.skiff("ps", ["--format", "{{nosuch .ID}}"])
        #expect(unknown.status == 1 && unknown.stderr.contains(#"function "nosuch" not defined"#), "\(unknown.stderr)")
        let noField = try fixture.skiff("ps", ["--format", "{{.Nope}}"])
        #expect(noField.status == 1 && noField.stderr.contains(#"map has no entry for key "Nope""#), "\(noField.stderr)")
        let badStats = try fixture.skiff("stats", ["--no-stream", "--format", "{{.Name", name])
        #expect(badStats.status == 1 && badStats.stderr.contains("unclosed action"), "\(badStats.stderr)")
    }
}

import JSON
import Templates
import Testing

@Suite struct GoTemplateTests {
    let container = try! JSONValue.parse(
        Array(
            """
            {"Id": "abc123", "Name": "/web", "State": {"Pid": 42, "Running": true, "ExitCode": 0},
             "Config": {"Labels": {"tier": "front", "app": "shop"}, "Env": ["A=1", "B=2"], "Empty": []},
             "NetworkSettings": {"Networks": {"net2": {"IPAddress": "10.0.2.5"}, "bridge": {"IPAddress": "10.0.1.5"}}}}
            """.utf8))

    func render(_ template: String) throws -> String { try GoTemplate(template).render(container) }

    @Test func fieldsAndFunctions() throws {
        #expect(try render("{{.State.Pid}}") == "42")
        #expect(try render("id={{.Id}} running={{.State.Running}}") == "id=abc123 running=true")
        #expect(try render("{{.Missing}}|{{.State.Missing.Deeper}}") == "<no value>|<no value>")
        #expect(try render("{{index .Config.Labels \"tier\"}}") == "front")
        #expect(try render("{{index .Config.Env 1}}") == "B=2")
        #expect(try render("{{json .Config.Labels}}") == #"{"tier":"front","app":"shop"}"#)
        #expect(try render("{{len .Config.Env}} {{upper .Name}} {{join .Config.Env \",\"}}") == "2 /WEB A=1,B=2")
        #expect(try render("{{.Config.Labels}}") == "map[app:shop tier:front]")
        #expect(try render("{{.Config.Env}}") == "[A=1 B=2]")
    }

    @Test func rangeAndIf() throws {
        // docker's idiom for a container's addresses: maps range in key order.
        #expect(try render("{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}") == "10.0.1.5 10.0.2.5 ")
        #expect(try render("{{range .Config.Empty}}x{{else}}none{{end}}") == "none")
        #expect(try render("{{if .State.Running}}up{{else}}down{{end}}") == "up")
        #expect(try render("{{if .Config.Empty}}some{{else}}empty{{end}}") == "empty")
        #expect(try render("a {{- .Id -}} b") == "aabc123b")
    }

    @Test func mistakesAreErrors() {
        for bad in [
            "{{.Id", "{{range .Config.Env}}x", "{{end}}", "{{nosuch .Id}}", "{{index .Id}}", "{{.Id junk}}", "{{range .Id}}x{{end}}",
        ] {
            #expect(throws: TemplateError.self, "\(bad)") { try render(bad) }
        }
    }
}

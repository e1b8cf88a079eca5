import JSON
import Templates
import Testing

/// Expected outputs are Go's: each was produced by Go 1.19's text/template with docker's
/// functions over the same data decoded from JSON (integers as int, other numbers as float64).
@Suite struct GoTemplateTests {
    let container = try! JSONValue.parse(
        Array(
            """
            {"Id": "abc123", "Name": "/web", "State": {"Pid": 42, "Running": true, "ExitCode": 0},
             "Config": {"Labels": {"tier": "front", "app": "shop"}, "Env": ["A=1", "B=2"], "Empty": []},
             "NetworkSettings": {"Networks": {"net2": {"IPAddress": "10.0.2.5"}, "bridge": {"IPAddress": "10.0.1.5"}}}}
            """.utf8))
    let data = try! JSONValue.parse(
        Array(#"{"S":"str","F":2.5,"N":null,"L":[1,"a",null],"M":{"b":"2","a":"1"},"MM":{"k":{"Sub":"v"}},"LL":[[1],[2,3]],"E":[]}"#.utf8))

    func render(_ template: String) throws -> String { try GoTemplate(template).render(container) }
    func go(_ template: String) throws -> String { try GoTemplate(template).render(data) }

    /// The error a template gives, parse or execution.
    func failure(_ template: String, on value: JSONValue? = nil) -> String {
        do {
            _ = try GoTemplate(template).render(value ?? data)
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    @Test func fieldsAndFunctions() throws {
        #expect(try render("{{.State.Pid}}") == "42")
        #expect(try render("id={{.Id}} running={{.State.Running}}") == "id=abc123 running=true")
        #expect(try render("{{.Missing}}|{{.State.Missing.Deeper}}") == "<no value>|<no value>")
        #expect(try render("{{index .Config.Labels \"tier\"}}") == "front")
        #expect(try render("{{index .Config.Env 1}}") == "B=2")
        #expect(try render("{{index .Id}}") == "abc123")
        // Go's encoding/json sorts map keys.
        #expect(try render("{{json .Config.Labels}}") == #"{"app":"shop","tier":"front"}"#)
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
        #expect(try go("{{if .S}}a{{else if .F}}b{{else}}c{{end}}") == "a")
        #expect(try go("{{if .N}}a{{else if .F}}b{{else}}c{{end}}") == "b")
        #expect(try go("{{if .N}}a{{else if .Missing}}b{{else}}c{{end}}") == "c")
        #expect(try go("{{with .Missing}}a{{else}}b{{end}}") == "b")
        #expect(try go("{{with .F}}{{.}}{{else}}none{{end}}") == "2.5")
        #expect(try go("{{range .N}}x{{else}}empty{{end}}") == "empty")
        #expect(try go("{{range .L}}{{if not .}}{{break}}{{end}}{{.}}{{end}}") == "1a")
        #expect(try go("{{range $i, $v := .L}}{{if eq $i 1}}{{continue}}{{end}}{{$v}}{{end}}") == "1<no value>")
        #expect(try go("{{range .LL}}{{range .}}{{.}},{{end}};{{end}}") == "1,;2,3,;")
    }

    @Test func variables() throws {
        #expect(try render("{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}") == "app=shop;tier=front;")
        #expect(try render("{{range $i, $e := .Config.Env}}{{$i}}:{{$e}} {{end}}") == "0:A=1 1:B=2 ")
        #expect(try render("{{range $e := .Config.Env}}[{{$e}}]{{end}}") == "[A=1][B=2]")
        #expect(try render("{{range .Config.Env}}{{.}}@{{$.Id}} {{end}}") == "A=1@abc123 B=2@abc123 ")
        #expect(try render("{{$n := .Name}}{{$n}} {{$n = \"x\"}}{{$n}}") == "/web x")
        #expect(try go("{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}") == "2")
        #expect(try go("{{$x := 1}}{{if true}}{{$x := 2}}{{$x}}{{end}}{{$x}}") == "21")
        #expect(try go("{{with $m := .M}}{{$m.a}}{{.b}}{{end}}") == "12")
        #expect(try go("{{$}}") == "map[E:[] F:2.5 L:[1 a <nil>] LL:[[1] [2 3]] M:map[a:1 b:2] MM:map[k:map[Sub:v]] N:<nil> S:str]")
    }

    @Test func pipelinesAndParentheses() throws {
        #expect(try render(#"{{(index .NetworkSettings.Networks "bridge").IPAddress}}"#) == "10.0.1.5")
        #expect(try render(#"{{.Name | printf "%q" | upper}}"#) == #""/WEB""#)
        #expect(try go(#"{{(index .MM "k").Sub}}|{{(index .MM "k").Sub | printf "%q"}}"#) == #"v|"v""#)
        #expect(try go(#"{{.S | printf "%s-%s" "a" | upper}}"#) == "A-STR")
        #expect(try go(#"{{.S | len | printf "%03d"}}"#) == "003")
        #expect(try go(#"{{index .M "b" | printf "%q"}}"#) == #""2""#)
        #expect(try go(#"{{(.S)}} {{(printf "%s" .S)}} {{("x")}}"#) == "str str x")
        #expect(try go(#"{{if and .S (not .Z)}}yes{{end}} {{if or (eq .S "x") (eq .S "str")}}match{{end}}"#) == "yes match")
        #expect(try go("{{/* comment */}}x{{- /* c2 */ -}} y") == "xy")
    }

    @Test func comparisonsAndLogic() throws {
        #expect(
            try go(#"{{eq .F 2.5}} {{eq 1 2 3 1}} {{ne .S "str"}} {{lt 1 2}} {{le 2 2}} {{gt "b" "a"}} {{ge 1 2}}"#)
                == "true true false true true true false")
        #expect(try go(#"{{and 1 0 2}} {{or 0 "" "x"}} {{not 0}} {{or .Missing .N "d"}} {{and .S .F}}"#) == "0 x true d 2.5")
        #expect(try go(#"{{eq .Missing "x"}}"#) == "false")
        #expect(try go(#"{{len .M}} {{len .S}} {{len .L}} {{len .E}}"#) == "2 3 3 0")
        #expect(try go(#"{{slice "abcdef" 1 3}}|{{slice .L 1}}|{{slice .L 1 2}}"#) == "bc|[a <nil>]|[a]")
        #expect(try go(#"{{index .MM "k" "Sub"}} {{index .LL 1 0}} {{index .L 2}} {{index .MM "x"}}"#) == "v 2 <no value> <no value>")
        // A map of strings (docker's labels) gives "" for a missing key, as Go's map[string]string
        // does (Go over JSON's map[string]interface{} would print <no value>).
        #expect(try render(#"[{{index .Config.Labels "nosuch"}}]"#) == "[]")
    }

    @Test func printing() throws {
        #expect(try go("{{.F}} {{.L}} {{.M}} {{.N}} {{.Missing}}") == "2.5 [1 a <nil>] map[a:1 b:2] <no value> <no value>")
        #expect(try go(#"{{print .Missing 1 2 "a" "b" 3}}"#) == "<nil> 1 2ab3")
        #expect(try go(#"{{println "a" 1 2}}"#) == "a 1 2\n")
        #expect(try go(#"{{print}}|{{println}}|{{printf ""}}"#) == "|\n|")
        #expect(try go(#"{{'a'}} {{0x1F}} {{017}} {{1_000}} {{-5}} {{+5}} {{1.5e3}}"#) == "97 31 15 1000 -5 5 1500")
    }

    @Test func printfVerbs() throws {
        #expect(
            try go(#"{{printf "%5.1f|%-6d|%06d|%x|%X|%o|%q|%c|%U" 3.14159 42 -42 255 "hi" 8 42 65 65}}"#)
                == "  3.1|42    |-00042|ff|6869|10|'*'|A|U+0041")
        #expect(
            try go(#"{{printf "%8.3f|%-8.2f|%+d|% d|%e|%E|%g|%G" 3.14159 2.5 5 5 123456.789 0.000123 1e-7 1e20}}"#)
                == "   3.142|2.50    |+5| 5|1.234568e+05|1.230000E-04|1e-07|1E+20")
        #expect(
            try go(#"{{printf "%q" "a\"b\\c\n\t\x01é"}} {{printf "%+q" "é"}} {{printf "%#q" "abc"}}"#)
                == #""a\"b\\c\n\t\x01é" "\u00e9" `abc`"#)
        #expect(try go(#"{{printf "%.3s|%10.2s|%-10s|%5s" "abcdef" "xyz" "hi" "ab"}}"#) == "abc|        xy|hi        |   ab")
        #expect(
            try go(#"{{printf "%T %T %T %T %T %T" 1 1.5 "s" .L .M true}}"#)
                == "int float64 string []interface {} map[string]interface {} bool")
        #expect(try go(#"{{printf "%v %d"}}"#) == "%!v(MISSING) %!d(MISSING)")
        #expect(try go(#"{{printf "%d %s" "a" 1}}"#) == "%!d(string=a) %!s(int=1)")
        #expect(try go(#"{{printf "%d" 1 2 "x"}}"#) == "1%!(EXTRA int=2, string=x)")
        #expect(try go(#"{{printf "%v|%s|%d" .Missing .Missing .Missing}}"#) == "<nil>|%!s(<nil>)|%!d(<nil>)")
        #expect(try go(#"{{printf "%05s|%5d|%-5d|%x" "ab" -3 -3 -255}}"#) == "000ab|   -3|-3   |-ff")
        #expect(try go(#"{{printf "%v %v %v %v %v" 1e6 123456.0 0.00001 1.5 1e21}}"#) == "1e+06 123456 1e-05 1.5 1e+21")
        #expect(try go(#"{{printf "%v" 100000000.0}} {{printf "%v" 0.1}} {{printf "%v" 123456789.125}}"#) == "1e+08 0.1 1.23456789125e+08")
        #expect(
            try go(#"{{printf "%.0f" 2.5}} {{printf "%.1f" 0.05}} {{printf "%g" 100000.0}} {{printf "%g" 1000000.0}}"#)
                == "2 0.1 100000 1e+06")
        #expect(
            try go(#"{{printf "%s" .L}} {{printf "%d" .L}} {{printf "%x" "héllo"}} {{printf "% x" "hi"}} {{printf "%#x" 255}}"#)
                == "[%!s(int=1) a <nil>] [1 %!d(string=a) <nil>] 68c3a96c6c6f 68 69 0xff")
        #expect(try go(#"{{printf "%q %v %s" .L .M .L}}"#) == #"['\x01' "a" <nil>] map[a:1 b:2] [%!s(int=1) a <nil>]"#)
        #expect(try go(#"{{printf "%6.2f%%" 12.3456}} {{printf "%t %v %5t" true false true}}"#) == " 12.35% true false  true")
        #expect(try go(#"{{printf "%c|%q|%U|%#U" 0x1F600 0x1F600 0x1F600 0x1F600}}"#) == "😀|'😀'|U+1F600|U+1F600 '😀'")
    }

    @Test func printfWidthsInsideListsAndMaps() throws {
        // Go pads each element, but not a nil element; %v takes a precision as %g does.
        #expect(try go(#"{{printf "%-4v|%6.2v|%.1s" .L .F .F}}"#) == "[1    a    <nil>]|   2.5|%!s(float64=2)")
        #expect(try go(#"{{printf "%3v" .M}}"#) == "map[  a:  1   b:  2]")
    }

    @Test func dockerFunctions() throws {
        #expect(try go(#"{{json .M}} {{json .Missing}} {{json .L}}"#) == #"{"a":"1","b":"2"} null [1,"a",null]"#)
        #expect(try go(#"{{title "hello wORLD-foo_bar x.y"}}"#) == "Hello WORLD-Foo_bar X.Y")
        #expect(try go(#"{{split "a,b,,c" ","}} {{split "abc" ""}} {{len (split "" ",")}}"#) == "[a b  c] [a b c] 1")
        #expect(try go(#"{{truncate "abc" 5}}|{{truncate "abcdef" 3}}|{{pad "" 1 1}}|{{pad "x" 1 3}}|"#) == "abc|abc|| x   |")
        #expect(try go(#"{{title "élan vital"}} {{upper "straße"}} {{lower "ÀB"}}"#) == "Élan Vital STRAßE àb")
        #expect(
            try go(#"{{html "<a href='x'>&\"</a>"}} {{urlquery "a b&c=d/é"}} {{js "a'b\"c<d>"}}"#)
                == #"&lt;a href=&#39;x&#39;&gt;&amp;&#34;&lt;/a&gt; a+b%26c%3Dd%2F%C3%A9 a\'b\"c\u003Cd\u003E"#)
        #expect(failure(#"{{truncate "abc" -1}}"#).hasSuffix("error calling truncate: runtime error: slice bounds out of range [:-1]"))
        #expect(failure(#"{{pad "x" -1 0}}"#).hasSuffix("error calling pad: strings: negative Repeat count"))
        #expect(
            failure("{{join .L \",\"}}")
                == #"template: :1:7: executing "" at <.L>: wrong type for value; expected []string; got []interface {}"#)
    }

    @Test func tableHeaders() throws {
        // docker renders a table's header over the column names with functions that leave them be.
        let names = try JSONValue.parse(Array(#"{"Names": "NAMES", "Status": "STATUS"}"#.utf8))
        let template = try GoTemplate(#"{{upper .Names}}\t{{json .Status}}\t{{truncate .Names 2}}\t{{.Label "a"}}\t{{pad .Names 1 1}}"#)
        let label = GoTemplate.Method(parameters: 1) { _ in .string("LABEL") }
        #expect(template.renderHeader(names, methods: ["Label": label]) == "NAMES\\tSTATUS\\tNAMES\\tLABEL\\t NAMES ")
        // As docker, an error ends the header where it happened.
        #expect(try GoTemplate("{{.Names}} {{index .Names 5}} x").renderHeader(names) == "NAMES ")
    }

    @Test func methodsOfTheData() throws {
        let row = try JSONValue.parse(Array(#"{"Names": "web", "Labels": "a=1,b=2"}"#.utf8))
        let labels = ["a": "1", "b": "2"]
        let methods = ["Label": GoTemplate.Method(parameters: 1) { .string(labels[$0[0]] ?? "") }]
        func run(_ text: String) throws -> String { try GoTemplate(text).render(row, methods: methods, missingKey: .error) }
        #expect(try run(#"{{.Names}} {{.Label "a"}} [{{.Label "zz"}}] {{.Labels}}"#) == "web 1 [] a=1,b=2")
        #expect(try run(#"{{"b" | .Label}} {{$.Label "a"}} {{.Label "a" | printf "%q"}}"#) == #"2 1 "1""#)
        #expect(try run(#"{{range split .Labels ","}}{{.}};{{end}}"#) == "a=1;b=2;")
        #expect(throws: TemplateError.self) { try run("{{.Label}}") }
        #expect(throws: TemplateError.self) { try run(#"{{.Label 1}}"#) }
        // docker's contexts are typed: an unknown field is an error, not <no value>.
        #expect(throws: TemplateError.self) { try run("{{.Nope}}") }
        #expect(throws: TemplateError.self) { try run(#"{{.Names "x"}}"#) }
    }

    @Test func parseErrorsNameThePlace() {
        let cases: [(String, String)] = [
            ("{{.Name}", #"template: :1:7: bad character U+007D '}'"#),
            ("{{.Name", "template: :1:0: unclosed action"),
            ("{{$y}}", #"template: :1:2: undefined variable "$y""#),
            ("{{$x = 1}}", #"template: :1:2: undefined variable "$x""#),
            ("{{nosuch 1}}", #"template: :1:2: function "nosuch" not defined"#),
            ("{{.Id junk}}", #"template: :1:6: function "junk" not defined"#),
            ("{{end}}", "template: :1:2: unexpected {{end}}"),
            ("{{else}}", "template: :1:2: unexpected {{else}}"),
            ("{{if .S}}x", "template: :1:10: unexpected EOF"),
            ("{{range .L}}x{{else}}y{{else}}z{{end}}", "template: :1:24: expected end; found {{else}}"),
            ("{{.A | \"x\"}}", "template: :1:10: non executable command in pipeline stage 2"),
            ("{{(.A}}", "template: :1:5: unclosed left paren"),
            ("{{\"a\".X}}", #"template: :1:5: unexpected . after term "\"a\"""#),
            ("{{.A \"a\"\"b\"}}", #"template: :1:8: unexpected "\"b\"" in operand"#),
            ("{{range $a, $b, $c := .L}}{{end}}", "template: :1:14: too many declarations in range"),
            ("{{if $x, $y := .L}}{{end}}", "template: :1:7: too many declarations in if"),
            ("{{break}}", "template: :1:2: {{break}} outside {{range}}"),
            ("{{/* unclosed }}", "template: :1:2: unclosed comment"),
            ("{{1a}}", #"template: :1:2: bad number syntax: "1a""#),
            ("x\n{{.A\n|}}\n{{.B}", "template: :4:4: bad character U+007D '}'"),
            // As Go, the first mistake in the text is the one reported, a lexing one included.
            ("{{nosuch}} {{.A", #"template: :1:2: function "nosuch" not defined"#),
            ("{{.A @}}", #"template: :1:5: unexpected "@" in operand"#),
            ("{{$x=1}}", "template: :1:4: bad character U+003D '='"),
            ("{{.A.}}", "template: :1:4: unexpected <.> in operand"),
            ("{{.A)}}", #"template: :1:4: unexpected ")" in command"#),
        ]
        for (text, message) in cases {
            #expect(failure(text) == message, "\(text)")
        }
    }

    @Test func executionErrorsSayWhatFailed() {
        let cases: [(String, String)] = [
            ("{{.N.B}}", #"template: :1:4: executing "" at <.N.B>: nil pointer evaluating interface {}.B"#),
            ("{{.S.Foo}}", #"template: :1:4: executing "" at <.S.Foo>: can't evaluate field Foo in type string"#),
            (#"{{.S "x"}}"#, #"template: :1:2: executing "" at <.S>: S is not a method but has arguments"#),
            ("{{len 3}}", #"template: :1:2: executing "" at <len 3>: error calling len: len of type int"#),
            ("{{index .L 3}}", #"template: :1:2: executing "" at <index .L 3>: error calling index: index out of range: 3"#),
            (
                #"{{index .M 1}}"#,
                #"template: :1:2: executing "" at <index .M 1>: error calling index: value has type int; should be string"#
            ),
            ("{{lt \"a\" 1}}", #"template: :1:2: executing "" at <lt "a" 1>: error calling lt: incompatible types for comparison"#),
            ("{{and}}", #"template: :1:2: executing "" at <and>: wrong number of args for and: want at least 1 got 0"#),
            ("{{not 1 2}}", #"template: :1:2: executing "" at <not>: wrong number of args for not: want 1 got 2"#),
            ("{{upper .Missing}}", #"template: :1:8: executing "" at <.Missing>: invalid value; expected string"#),
            ("{{upper 1}}", #"template: :1:8: executing "" at <1>: expected string; found 1"#),
            ("{{range .S}}x{{end}}", #"template: :1:8: executing "" at <.S>: range can't iterate over str"#),
            ("{{nil}}", #"template: :1:2: executing "" at <nil>: nil is not a command"#),
            ("{{.S | .M}}", #"template: :1:7: executing "" at <.M>: M is not a method but has arguments"#),
        ]
        for (text, message) in cases {
            #expect(failure(text) == message, "\(text)")
        }
    }
}

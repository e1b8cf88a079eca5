import Builder
import Testing

/// Docker's word processing: quotes, escapes and the substitution forms.
@Suite struct ShellWordTests {
    let env: [String: String] = ["A": "alpha", "EMPTY": "", "SPACE": "a b"]

    func word(_ text: String, escape: Character = "\\") throws -> String {
        let env = self.env
        return try ShellWord(escape: escape) { env[$0] }.process(text)
    }

    @Test func substitutionForms() throws {
        #expect(try word("$A") == "alpha")
        #expect(try word("${A}x") == "alphax")
        #expect(try word("$Ax") == "")
        #expect(try word("$UNSET") == "")
        #expect(try word("${UNSET:-def}") == "def")
        #expect(try word("${EMPTY:-def}") == "def")
        #expect(try word("${EMPTY-def}") == "")
        #expect(try word("${UNSET-def}") == "def")
        #expect(try word("${A:-def}") == "alpha")
        #expect(try word("${A:+alt}") == "alt")
        #expect(try word("${EMPTY:+alt}") == "")
        #expect(try word("${EMPTY+alt}") == "alt")
        #expect(try word("${UNSET:+alt}") == "")
        #expect(try word("${UNSET:-${A}/x}") == "alpha/x")
        #expect(try word("a$") == "a$")
        #expect(try word("$1x") == "x")
        #expect(try word("100%$") == "100%$")
    }

    @Test func quotesAndEscapes() throws {
        #expect(try word("'$A'") == "$A")
        #expect(try word("\"$A b\"") == "alpha b")
        #expect(try word("\"\\$A\"") == "$A")
        #expect(try word("\\$A") == "$A")
        #expect(try word("\"a\\nb\"") == "a\\nb")
        #expect(try word("a\\ b") == "a b")
        #expect(try word("\"${SPACE}\"") == "a b")
        #expect(try word("`$A", escape: "`") == "$A")
        #expect(try word("C:\\dir", escape: "`") == "C:\\dir")
    }

    @Test func errorsSayWhatIsWrong() throws {
        #expect(throws: DockerfileError("unexpected end of statement while looking for matching single-quote")) { try word("'abc") }
        #expect(throws: DockerfileError("unexpected end of statement while looking for matching double-quote")) { try word("\"abc") }
        #expect(throws: DockerfileError("UNSET: must be set")) { try word("${UNSET:?must be set}") }
        #expect(throws: DockerfileError("EMPTY: is not allowed to be empty or unset")) { try word("${EMPTY:?}") }
        #expect(try word("${EMPTY?}") == "")
        #expect(throws: DockerfileError.self) { try word("${A") }
        #expect(throws: DockerfileError.self) { try word("${A:-x") }
        #expect(throws: DockerfileError.self) { try word("${A/x/y}") }
        #expect(throws: DockerfileError.self) { try word("${}") }
    }

    @Test func heredocBodiesExpandOnlyVariables() throws {
        let env = self.env
        let shell = ShellWord { env[$0] }
        #expect(try shell.expandVariables("'$A' \"x\" \\$A ${UNSET:-d}\n") == "'alpha' \"x\" $A d\n")
    }
}

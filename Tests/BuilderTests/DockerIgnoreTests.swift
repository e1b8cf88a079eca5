import Builder
import Testing

/// `.dockerignore` with docker's pattern rules.
@Suite struct DockerIgnoreTests {
    @Test func docsExample() {
        let ignore = DockerIgnore(
            """
            # comment
            */temp*
            */*/temp*
            temp?
            """)
        #expect(ignore.isIgnored("somedir/temporary.txt"))
        #expect(ignore.isIgnored("somedir/temp"))
        #expect(ignore.isIgnored("somedir/subdir/temporary.txt"))
        #expect(ignore.isIgnored("tempa"))
        #expect(!ignore.isIgnored("tempab"))
        #expect(!ignore.isIgnored("temporary.txt"))
        #expect(!ignore.isIgnored("a/b/c/temp"))
    }

    @Test func doubleStarAndParents() {
        let ignore = DockerIgnore("**/*.go\nnode_modules\n/build/\n./dist")
        #expect(ignore.isIgnored("main.go"))
        #expect(ignore.isIgnored("a/b/c.go"))
        #expect(!ignore.isIgnored("a/b/c.goo"))
        #expect(ignore.isIgnored("node_modules"))
        #expect(ignore.isIgnored("node_modules/x/y.js"))
        #expect(!ignore.isIgnored("src/node_modules"))
        #expect(ignore.isIgnored("build/out"))
        #expect(ignore.isIgnored("dist"))
    }

    @Test func exceptionsLastMatchWins() {
        let ignore = DockerIgnore("*.md\n!README*.md\nREADME-secret.md")
        #expect(ignore.isIgnored("CHANGES.md"))
        #expect(!ignore.isIgnored("README.md"))
        #expect(!ignore.isIgnored("README-x.md"))
        #expect(ignore.isIgnored("README-secret.md"))
        #expect(ignore.hasExceptions)
        let directories = DockerIgnore("docs\n!docs/keep")
        #expect(directories.isIgnored("docs/other"))
        #expect(!directories.isIgnored("docs/keep"))
        #expect(!directories.isIgnored("docs/keep/deeper"))
    }

    @Test func classesAndEscapes() {
        let ignore = DockerIgnore("file[0-9].txt\nx[!a]y\nstar\\*")
        #expect(ignore.isIgnored("file3.txt"))
        #expect(!ignore.isIgnored("filea.txt"))
        #expect(ignore.isIgnored("xby"))
        #expect(!ignore.isIgnored("xay"))
        #expect(ignore.isIgnored("star*"))
        #expect(!ignore.isIgnored("stars"))
        #expect(!DockerIgnore("bad[").isIgnored("bad["))
        #expect(DockerIgnore("").isEmpty)
    }
}

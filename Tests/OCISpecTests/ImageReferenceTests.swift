import Testing
@testable import OCISpec

@Suite struct ImageReferenceTests {
    @Test(arguments: [
        ("busybox", "docker.io/library/busybox:latest", "busybox:latest"),
        ("busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"),
        ("library/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
        ("docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
        ("index.docker.io/library/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
        ("user/app:v1", "docker.io/user/app:v1", "user/app:v1"),
        ("localhost/app", "localhost/app:latest", "localhost/app:latest"),
        ("localhost:5000/app", "localhost:5000/app:latest", "localhost:5000/app:latest"),
        ("127.0.0.1:5000/a/b/c:tag-1.0", "127.0.0.1:5000/a/b/c:tag-1.0", "127.0.0.1:5000/a/b/c:tag-1.0"),
        ("quay.io/coreos/etcd", "quay.io/coreos/etcd:latest", "quay.io/coreos/etcd:latest"),
        ("my_app.v2__x-y--z", "docker.io/library/my_app.v2__x-y--z:latest", "my_app.v2__x-y--z:latest"),
        ("[::1]:5000/app", "[::1]:5000/app:latest", "[::1]:5000/app:latest"),
    ])
    func normalises(input: String, canonical: String, familiar: String) throws {
        let reference = try ImageReference(parsing: input)
        #expect(reference.description == canonical)
        #expect(reference.familiar == familiar)
    }

    @Test func keepsDigestAndTag() throws {
        let hex = String(repeating: "a", count: 64)
        let pinned = try ImageReference(parsing: "127.0.0.1:5000/app@sha256:\(hex)")
        #expect(pinned.tag == nil)
        #expect(pinned.digest?.encoded == hex)
        #expect(pinned.manifestReference == "sha256:\(hex)")
        let both = try ImageReference(parsing: "app:1.0@sha256:\(hex)")
        #expect(both.tag == "1.0")
        #expect(both.manifestReference == "sha256:\(hex)")
        #expect(both.description == "docker.io/library/app:1.0@sha256:\(hex)")
    }

    @Test func usesConfiguredDefaultRegistry() throws {
        let reference = try ImageReference(parsing: "busybox", defaultRegistry: "127.0.0.1:5000")
        #expect(reference.description == "127.0.0.1:5000/busybox:latest")
        #expect(reference.familiar == "127.0.0.1:5000/busybox:latest")
    }

    @Test(arguments: [
        "", "Busybox", "busybox:", "busybox:-tag", "busybox@sha256:abc", "a//b", "-app", "app-",
        "localhost:port/app", "busybox:" + String(repeating: "t", count: 129), "a/../b", "app@md5:00",
        "/busybox", "busybox/",
    ])
    func rejects(input: String) {
        #expect(throws: ReferenceError.self) { try ImageReference(parsing: input) }
    }

    @Test func errorExplainsUppercase() {
        #expect(throws: ReferenceError.uppercase("MyApp")) { try ImageReference(parsing: "MyApp") }
    }
}

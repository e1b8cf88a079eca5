import Foundation
import Testing

let buildahBinary = ["/usr/bin/buildah", "/usr/local/bin/buildah"].first { FileManager.default.isExecutableFile(atPath: $0) }

/// The image `skiff build` makes of a Dockerfile against the one Debian's `buildah bud` (1.28)
/// makes of it: the config fields a container runs with (Cmd, Entrypoint, Env, WorkingDir, User,
/// ExposedPorts, Volumes, Labels, StopSignal) and the files of each layer that has any. buildah
/// runs in its own --root/--runroot under the test's directory, with chroot isolation.
@Suite(
    .serialized,
    .enabled(if: engineTestsEnabled && buildahBinary != nil, "needs root, umoci, busybox-static and buildah (apt-get install buildah)"))
struct BuildahComparisonTests {
    static let dockerfile = """
        FROM localhost/loaded:bb
        ARG FLAVOUR=plain
        ENV A=1 B="two words"
        RUN busybox mkdir -p /srv/app/cache && echo "$FLAVOUR" > /srv/app/flavour && busybox rm /bin/false
        COPY files/ /srv/app/files/
        COPY one.txt /srv/app/
        WORKDIR /srv/app
        RUN echo made > made.txt
        EXPOSE 8080 9090/udp
        VOLUME /data
        LABEL org.example.a=b "org.example.c d"=e
        USER 1000:1000
        STOPSIGNAL SIGTERM
        ENTRYPOINT ["sh", "-c"]
        CMD ["cat /srv/app/flavour"]
        """

    /// Prints, for an OCI layout archive, its config's fields and each non-empty layer's files
    /// (one JSON document), buildah's own label left out.
    static let describe = """
        import json, sys, tarfile, io
        outer = tarfile.open(sys.argv[1])
        def blob(digest):
            return outer.extractfile("blobs/" + digest.replace(":", "/")).read()
        index = json.loads(outer.extractfile("index.json").read())
        manifest = json.loads(blob(index["manifests"][0]["digest"]))
        config = json.loads(blob(manifest["config"]["digest"]))["config"]
        fields = ["Cmd", "Entrypoint", "Env", "WorkingDir", "User", "ExposedPorts", "Volumes", "Labels", "StopSignal"]
        result = {name: config.get(name) for name in fields}
        (result["Labels"] or {}).pop("io.buildah.version", None)
        layers = []
        for layer in manifest["layers"]:
            with tarfile.open(fileobj=io.BytesIO(blob(layer["digest"])), mode="r:*") as tar:
                names = {m.name.lstrip("./").rstrip("/") + ("/" if m.isdir() else "") for m in tar.getmembers()} - {"", "/"}
            # buildah's chroot RUN leaves the files it mounts over (and /run for them) in its
            # layers; docker's builders do not, nor does skiff: they are not compared, nor an
            # /etc that held nothing else.
            names -= {"etc/hostname", "etc/hosts", "etc/resolv.conf", "run/"}
            if not any(n.startswith("etc/") and n != "etc/" for n in names):
                names.discard("etc/")
            names = sorted(names)
            if names:
                layers.append(names)
        result["layers"] = layers
        print(json.dumps(result, sort_keys=True, indent=1))
        """

    @Test func configAndLayerFilesMatchBuildah() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let context = fixture.path + "/context"
        try FileManager.default.createDirectory(atPath: context + "/files/sub", withIntermediateDirectories: true)
        try Data(Self.dockerfile.utf8).write(to: URL(fileURLWithPath: context + "/Dockerfile"))
        try Data("1\n".utf8).write(to: URL(fileURLWithPath: context + "/one.txt"))
        try Data("a\n".utf8).write(to: URL(fileURLWithPath: context + "/files/a.txt"))
        try Data("b\n".utf8).write(to: URL(fileURLWithPath: context + "/files/sub/b.txt"))

        let buildah = [
            buildahBinary!, "--root", fixture.path + "/buildah", "--runroot", fixture.path + "/buildah-run", "--storage-driver", "vfs",
        ]
        defer {
            _ = try? run(buildah + ["rmi", "--all", "-f"], check: false)
            _ = try? run(["/bin/umount", "-R", fixture.path + "/buildah"], check: false)
        }
        let archive = try busyboxArchive.get()
        let pulled = try run(buildah + ["pull", "-q", "oci-archive:" + archive], check: false)
        #expect(pulled.status == 0, "\(pulled.stderr)")
        try run(buildah + ["tag", pulled.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "localhost/loaded:bb"])
        let theirs = try run(
            buildah + ["bud", "--layers", "--isolation", "chroot", "--build-arg", "FLAVOUR=spicy", "-t", "localhost/compared:1", context],
            check: false)
        #expect(theirs.status == 0, "\(theirs.stderr)")
        try run(buildah + ["push", "localhost/compared:1", "oci-archive:" + fixture.path + "/buildah.tar"])

        let ours = try fixture.skiff("build", ["--network", "none", "--build-arg", "FLAVOUR=spicy", "-t", "localhost/compared:1", context])
        #expect(ours.status == 0, "\(ours.stderr)")
        let saved = try fixture.image(["save"], ["-o", fixture.path + "/skiff.tar", "localhost/compared:1"])
        #expect(saved.status == 0, "\(saved.stderr)")

        let expected = try run(["/usr/bin/env", "python3", "-c", Self.describe, fixture.path + "/buildah.tar"])
        let actual = try run(["/usr/bin/env", "python3", "-c", Self.describe, fixture.path + "/skiff.tar"])
        #expect(actual.stdout == expected.stdout, "skiff:\n\(actual.stdout)\nbuildah:\n\(expected.stdout)")
        // And the image runs.
        let ran = try fixture.skiff("run", ["--rm", "--network", "none", "localhost/compared:1"])
        #expect(ran.stdout == "spicy\n", "\(ran.stderr)")
    }
}

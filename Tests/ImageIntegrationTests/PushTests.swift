import Foundation
import Testing
import OCISpec
import ImageStore
import Registry

/// skiff pushes, read back with skopeo.
@Suite(.serialized, .enabled(if: integrationEnabled, skipReason))
struct PushTests {
    @Test func pushMountsAcrossRepositoriesAndSkopeoReadsItBack() async throws {
        let scratch = try Scratch()
        let registry = try LocalRegistry(scratch: scratch)
        defer { registry.stop() }
        let factory = try ImageFactory(scratch: scratch)
        try factory.multiLayer(tag: "m")
        try factory.push(tag: "m", to: "\(registry.host)/source/app:1")
        let store = try ImageStore(root: scratch.path + "/store")
        let image = try await ImagePuller(store: store, options: options()).pull(
            try ImageReference(parsing: "\(registry.host)/source/app:1"))

        let progress = RecordingProgress()
        let digest = try await ImagePusher(store: store, options: options(), progress: progress)
            .push("\(registry.host)/source/app:1", as: try ImageReference(parsing: "\(registry.host)/copy/app:2"))
        #expect(digest == image.manifestDigest, "the manifest is pushed byte for byte")
        #expect(progress.saw(.mounted), "layers are mounted from source/app, not uploaded again")
        #expect(!progress.saw(.uploading))

        let raw = try run(["/usr/bin/skopeo", "inspect", "--raw", "--tls-verify=false", "docker://\(registry.host)/copy/app:2"]).stdout
        #expect(SHA256Hasher.digest(Array(raw.utf8)) == image.manifestDigest)

        // A second push of the same image finds every blob present.
        let again = RecordingProgress()
        _ = try await ImagePusher(store: store, options: options(), progress: again)
            .push("\(registry.host)/source/app:1", as: try ImageReference(parsing: "\(registry.host)/copy/app:3"))
        #expect(again.saw(.exists) && !again.saw(.uploading))
    }

    @Test(arguments: [nil, 4096] as [Int?])
    func pushUploadsToAnotherRegistryAndTreeSurvives(chunkSize: Int?) async throws {
        let scratch = try Scratch()
        let source = try LocalRegistry(scratch: scratch)
        defer { source.stop() }
        let target = try LocalRegistry(scratch: scratch, auth: .htpasswd(user: "pusher", password: "push-pw"))
        defer { target.stop() }
        let factory = try ImageFactory(scratch: scratch)
        try factory.multiLayer(tag: "m")
        try factory.push(tag: "m", to: "\(source.host)/app:1")
        let store = try ImageStore(root: scratch.path + "/store")
        _ = try await ImagePuller(store: store, options: options()).pull(try ImageReference(parsing: "\(source.host)/app:1"))

        // Through the CLI: tag, login, push.
        try run([skiffBinary, "tag", "--root", store.root, "\(source.host)/app:1", "\(target.host)/pushed/app:v1"])
        let authFile = scratch.path + "/auth.json"
        try run([skiffBinary, "login", "--authfile", authFile, "-u", "pusher", "-p", "push-pw", target.host])
        var arguments = [skiffBinary, "push", "--root", store.root, "--authfile", authFile]
        if let chunkSize { arguments += ["--chunk-size", "\(chunkSize)"] }
        try run(arguments + ["\(target.host)/pushed/app:v1"])

        // skopeo copies it back into an OCI layout; umoci unpacks it; the tree matches the original.
        let back = scratch.path + "/back"
        try run([
            "/usr/bin/skopeo", "copy", "--quiet", "--src-tls-verify=false", "--src-creds", "pusher:push-pw",
            "docker://\(target.host)/pushed/app:v1", "oci:\(back):v1",
        ])
        try run(["/usr/bin/umoci", "unpack", "--image", "\(back):v1", scratch.path + "/back-bundle"])
        let original = try describeTree(try factory.umociRootfs(tag: "m"))
        let roundTrip = try describeTree(scratch.path + "/back-bundle/rootfs")
        #expect(original == roundTrip)
        #expect(original["bin/busybox"] != nil)
    }
}

import Foundation
import Testing
import OCISpec
import ImageStore
import HTTPClient
import Registry

/// HTTPS registries: a docker-registry on 127.0.0.1 serving a certificate made here with openssl,
/// trusted only through a certs.d directory (as docker's /etc/docker/certs.d/HOST:PORT/ca.crt),
/// and refused with a clear error when nothing vouches for it.
@Suite(.serialized, .enabled(if: integrationEnabled, skipReason))
struct TLSTests {
    /// A self-signed certificate for `subjectAltName` (and its key), made with the openssl CLI.
    func makeCertificate(_ scratch: Scratch, name: String, subjectAltName: String) throws -> (certificate: String, key: String) {
        let certificate = "\(scratch.path)/\(name).crt", key = "\(scratch.path)/\(name).key"
        try run([
            "/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-keyout", key, "-out", certificate,
            "-subj", "/CN=skiff test \(name)", "-addext", "subjectAltName=\(subjectAltName)",
            "-addext", "basicConstraints=critical,CA:TRUE",
        ])
        return (certificate, key)
    }

    /// Options whose certs.d root is inside the scratch directory; `ca` lands in HOST:PORT/ca.crt.
    func tlsOptions(_ scratch: Scratch, host: String, ca: String?) throws -> RegistryOptions {
        var options = options(timeout: 10, attempts: 1)
        let root = scratch.path + "/certs.d"
        try FileManager.default.createDirectory(atPath: root + "/" + host, withIntermediateDirectories: true)
        if let ca { try FileManager.default.copyItem(atPath: ca, toPath: root + "/" + host + "/ca.crt") }
        options.trust = TrustConfiguration(certificateDirectoryRoots: [root])
        return options
    }

    @Test func pullsAndPushesOverTLSTrustedThroughCertsD() async throws {
        let scratch = try Scratch()
        let pair = try makeCertificate(scratch, name: "registry", subjectAltName: "IP:127.0.0.1")
        let registry = try LocalRegistry(scratch: scratch, tls: pair)
        defer { registry.stop() }
        let factory = try ImageFactory(scratch: scratch)
        try factory.multiLayer(tag: "ml")
        try factory.push(tag: "ml", to: "\(registry.host)/tls/ml:1")

        let options = try tlsOptions(scratch, host: registry.host, ca: pair.certificate)
        #expect(try RegistryClient(registry: registry.host, options: options).baseURLScheme == "https")
        let store = try ImageStore(root: scratch.path + "/store")
        let image = try await ImagePuller(store: store, options: options).pull(try ImageReference(parsing: "\(registry.host)/tls/ml:1"))
        #expect(image.manifest.layers.count == 3)
        let id = "tls-\(UUID().uuidString.prefix(8))"
        let rootfs = try store.prepareRootfs(image: image, containerID: id)
        defer { try? store.release(containerID: id) }
        var expected = try describeTree(try factory.umociRootfs(tag: "ml")), actual = try describeTree(rootfs)
        expected.removeValue(forKey: "/")
        actual.removeValue(forKey: "/")
        #expect(actual == expected)
        #expect(actual["bin/busybox"] != nil)

        // Push it back under another name over TLS (chunked PATCH uploads too), and read it with skopeo.
        var pusher = ImagePusher(store: store, options: options)
        pusher.chunkSize = 64 << 10
        let digest = try await pusher.push("\(registry.host)/tls/ml:1", as: try ImageReference(parsing: "\(registry.host)/tls/copy:2"))
        let inspected = try run([
            "/usr/bin/skopeo", "inspect", "--raw", "--cert-dir", scratch.path + "/certs.d/" + registry.host,
            "docker://\(registry.host)/tls/copy:2",
        ]).stdout
        #expect(SHA256Hasher.digest(Array(inspected.utf8)) == digest)
    }

    @Test func cliPullsWithCertDirAndRefusesWithoutTrust() throws {
        let scratch = try Scratch()
        let pair = try makeCertificate(scratch, name: "registry", subjectAltName: "IP:127.0.0.1")
        let registry = try LocalRegistry(scratch: scratch, tls: pair)
        defer { registry.stop() }
        let factory = try ImageFactory(scratch: scratch)
        try factory.busybox(tag: "bb")
        try factory.push(tag: "bb", to: "\(registry.host)/tls/bb:1")
        let certDir = scratch.path + "/cert-dir"
        try FileManager.default.createDirectory(atPath: certDir, withIntermediateDirectories: true)
        let emptyDir = scratch.path + "/empty-cert-dir"
        try FileManager.default.createDirectory(atPath: emptyDir, withIntermediateDirectories: true)
        let root = scratch.path + "/store"

        let refused = try run([skiffBinary, "pull", "--root", root, "--cert-dir", emptyDir, "\(registry.host)/tls/bb:1"], check: false)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("not trusted") && refused.stderr.contains("tls/bb"), "\(refused.stderr)")
        #expect(try ImageStore(root: root).records().isEmpty)

        try FileManager.default.copyItem(atPath: pair.certificate, toPath: certDir + "/ca.crt")
        try run([skiffBinary, "pull", "-q", "--root", root, "--cert-dir", certDir, "\(registry.host)/tls/bb:1"])
        #expect(try ImageStore(root: root).records().count == 1)
    }

    @Test func refusesAnUntrustedCertificateWithAClearError() async throws {
        let scratch = try Scratch()
        let pair = try makeCertificate(scratch, name: "registry", subjectAltName: "IP:127.0.0.1")
        let registry = try LocalRegistry(scratch: scratch, tls: pair)
        defer { registry.stop() }
        let factory = try ImageFactory(scratch: scratch)
        try factory.busybox(tag: "bb")
        try factory.push(tag: "bb", to: "\(registry.host)/tls/bb:1")
        let reference = try ImageReference(parsing: "\(registry.host)/tls/bb:1")

        // A certs.d directory without the registry's CA: HTTPS, verified against the system store only.
        let untrusted = try tlsOptions(scratch, host: registry.host, ca: nil)
        let store = try ImageStore(root: scratch.path + "/store")
        await #expect {
            try await ImagePuller(store: store, options: untrusted).pull(reference)
        } throws: { error in
            let text = "\(error)"
            return text.contains("not trusted") && text.contains("self-signed certificate")
                && text.contains("certs.d/\(registry.host)/ca.crt") && text.contains(registry.host)
        }
        #expect(try store.records().isEmpty)
        #expect(store.content.allDigests().isEmpty)

        // Another CA in certs.d does not vouch for this one either.
        let other = try makeCertificate(scratch, name: "other", subjectAltName: "IP:127.0.0.1")
        let wrongCA = scratch.path + "/wrong-ca"
        try FileManager.default.createDirectory(atPath: wrongCA + "/" + registry.host, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: other.certificate, toPath: wrongCA + "/" + registry.host + "/ca.crt")
        var wrong = options(timeout: 10, attempts: 1)
        wrong.trust = TrustConfiguration(certificateDirectoryRoots: [wrongCA])
        await #expect {
            try await ImagePuller(store: store, options: wrong).pull(reference)
        } throws: { error in "\(error)".contains("not trusted") }

        // The right CA for a certificate that names another address: the host name check refuses it.
        let misnamed = try makeCertificate(scratch, name: "misnamed", subjectAltName: "IP:127.0.0.2,DNS:registry.example")
        let second = try LocalRegistry(scratch: scratch, tls: misnamed)
        defer { second.stop() }
        let misnamedOptions = try tlsOptions(scratch, host: second.host, ca: misnamed.certificate)
        await #expect {
            try await RegistryClient(registry: second.host, options: misnamedOptions).ping()
        } throws: { error in
            let text = "\(error)"
            return text.contains("not trusted") && text.contains("mismatch")
        }
        #expect(try store.records().isEmpty)
    }

    @Test func presentsTheClientCertificateFromCertsD() async throws {
        let scratch = try Scratch()
        let pair = try makeCertificate(scratch, name: "registry", subjectAltName: "IP:127.0.0.1")
        let clientCA = try makeCertificate(scratch, name: "client-ca", subjectAltName: "DNS:client-ca.test")
        try run([
            "/usr/bin/openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", scratch.path + "/client.key",
            "-out", scratch.path + "/client.csr", "-subj", "/CN=skiff test client",
        ])
        try run([
            "/usr/bin/openssl", "x509", "-req", "-in", scratch.path + "/client.csr", "-CA", clientCA.certificate, "-CAkey", clientCA.key,
            "-CAcreateserial", "-days", "2", "-out", scratch.path + "/client.cert",
        ])
        let registry = try LocalRegistry(scratch: scratch, tls: pair, clientCA: clientCA.certificate)
        defer { registry.stop() }

        // Server CA only: the registry refuses the connection that presents no certificate.
        let withoutClient = try tlsOptions(scratch, host: registry.host, ca: pair.certificate)
        await #expect {
            try await RegistryClient(registry: registry.host, options: withoutClient).ping()
        } throws: { error in
            let text = "\(error)"
            return (text.contains("alert bad certificate") || text.contains("certificate required")) && text.contains("client.cert")
        }

        let directory = scratch.path + "/certs.d/" + registry.host
        try FileManager.default.copyItem(atPath: scratch.path + "/client.cert", toPath: directory + "/client.cert")
        try FileManager.default.copyItem(atPath: scratch.path + "/client.key", toPath: directory + "/client.key")
        let factory = try ImageFactory(scratch: scratch)
        try factory.busybox(tag: "bb")
        try run([
            "/usr/bin/skopeo", "copy", "--quiet", "--dest-cert-dir", directory, "oci:\(factory.layout):bb",
            "docker://\(registry.host)/mtls/bb:1",
        ])
        let store = try ImageStore(root: scratch.path + "/store")
        let image = try await ImagePuller(store: store, options: withoutClient).pull(
            try ImageReference(parsing: "\(registry.host)/mtls/bb:1"))
        #expect(store.snapshots.has(image.config.rootfs.diffIDs[0]))
    }
}

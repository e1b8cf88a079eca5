import Foundation
import Testing
@testable import OCISpec

@Suite struct ImageSpecCodingTests {
    let hexA = String(repeating: "a", count: 64)
    let hexB = String(repeating: "b", count: 64)

    @Test func digestValidation() throws {
        #expect(try Digest(parsing: "sha256:\(hexA)").encoded == hexA)
        #expect(throws: DigestError.self) { try Digest(parsing: "sha256:\(hexA.uppercased())") }
        #expect(throws: DigestError.self) { try Digest(parsing: "sha256:../../etc/passwd") }
        #expect(throws: DigestError.self) { try Digest(parsing: "sha256:abc") }
        #expect(throws: DigestError.self) { try Digest(parsing: "crc32:\(hexA)") }
        #expect(throws: DigestError.self) { try Digest(parsing: hexA) }
        #expect(try Digest(parsing: "sha512:" + hexA + hexA).algorithm == "sha512")
    }

    @Test func decodesDockerManifest() throws {
        let json = """
            {"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
             "config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":1469,"digest":"sha256:\(hexA)"},
             "layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":2223,"digest":"sha256:\(hexB)"}]}
            """
        let probe = try JSONDecoder().decode(ManifestProbe.self, from: Data(json.utf8))
        #expect(try probe.kind(fallbackType: nil) == .manifest)
        let manifest = try JSONDecoder().decode(Manifest.self, from: Data(json.utf8))
        try manifest.validate()
        #expect(manifest.layers.count == 1)
        #expect(MediaType.layerCompression(manifest.layers[0].mediaType) == .gzip)
    }

    @Test func rejectsBadDigestInManifest() {
        let json =
            #"{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":1,"digest":"sha256:xyz"},"layers":[]}"#
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Manifest.self, from: Data(json.utf8)) }
    }

    @Test func rejectsUnknownLayerType() throws {
        let config = Descriptor(mediaType: MediaType.ociConfig, digest: try Digest(sha256Hex: hexA), size: 2)
        let layer = Descriptor(mediaType: "application/vnd.example.weird", digest: try Digest(sha256Hex: hexB), size: 2)
        let manifest = Manifest(config: config, layers: [layer])
        #expect(throws: ManifestError.unknownMediaType("application/vnd.example.weird", role: "layer")) { try manifest.validate() }
    }

    @Test func rejectsSchema1() throws {
        let json = #"{"schemaVersion":1,"name":"x","tag":"y","fsLayers":[]}"#
        let probe = try JSONDecoder().decode(ManifestProbe.self, from: Data(json.utf8))
        #expect(throws: ManifestError.unsupportedSchema(1)) { try probe.kind(fallbackType: nil) }
    }

    @Test func selectsPlatformFromIndex() throws {
        let json = """
            {"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[
              {"mediaType":"application/vnd.docker.distribution.manifest.v2+json","size":1,"digest":"sha256:\(hexA)","platform":{"architecture":"arm","os":"linux","variant":"v7"}},
              {"mediaType":"application/vnd.docker.distribution.manifest.v2+json","size":2,"digest":"sha256:\(hexB)","platform":{"architecture":"amd64","os":"linux"}}]}
            """
        let index = try JSONDecoder().decode(Index.self, from: Data(json.utf8))
        #expect(index.manifest(for: .linuxAmd64)?.digest.encoded == hexB)
        #expect(index.manifest(for: try Platform(parsing: "linux/arm"))?.digest.encoded == hexA)
        #expect(index.manifest(for: Platform(os: "linux", architecture: "x86_64"))?.digest.encoded == hexB)
        #expect(index.manifest(for: try Platform(parsing: "linux/arm64")) == nil)
        #expect(throws: PlatformError.self) { try Platform(parsing: "linux") }
    }

    @Test func imageConfigRoundTrip() throws {
        let json = """
            {"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin"],"Cmd":["sh"],"ExposedPorts":{"80/tcp":{}},"WorkingDir":"/"},
             "rootfs":{"type":"layers","diff_ids":["sha256:\(hexA)"]},"history":[{"created_by":"x","empty_layer":true}]}
            """
        let config = try JSONDecoder().decode(ImageConfig.self, from: Data(json.utf8))
        #expect(config.config?.cmd == ["sh"])
        #expect(config.config?.exposedPorts?.keys.first == "80/tcp")
        #expect(config.rootfs.diffIDs.count == 1)
        #expect(config.history?.first?.emptyLayer == true)
        let again = try JSONDecoder().decode(ImageConfig.self, from: try JSONEncoder().encode(config))
        #expect(again == config)
    }
}

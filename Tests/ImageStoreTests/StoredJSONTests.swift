import Foundation
import JSON
import OCISpec
import Testing

/// The store writes JSON with the project's codec (the `skiff` binary links one). A manifest made
/// by `load` from a docker archive is content-addressed, so its bytes must be what Foundation's
/// JSONEncoder (sorted keys, slashes unescaped) wrote before: the same archive loaded by an older
/// skiff and by this one names the same manifest digest.
@Suite struct StoredJSONTests {
    let layer = try! Digest(sha256Hex: String(repeating: "ab", count: 32))
    let config = try! Digest(sha256Hex: String(repeating: "cd", count: 32))

    func foundation<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(value))
    }

    @Test func manifestsAndIndexesEncodeAsFoundationDid() throws {
        let manifest = Manifest(
            config: Descriptor(mediaType: MediaType.ociConfig, digest: config, size: 1234),
            layers: [
                Descriptor(
                    mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: layer, size: 9_876_543_210,
                    annotations: ["org.opencontainers.image.title": "a/b \"c\" é"])
            ])
        #expect(try JSONEncoding.encode(manifest, sortedKeys: true) == foundation(manifest))
        let index = Index(manifests: [
            Descriptor(
                mediaType: MediaType.ociManifest, digest: layer, size: 42,
                annotations: [
                    "io.containerd.image.name": "docker.io/library/busybox:latest",
                    "org.opencontainers.image.ref.name": "latest",
                ])
        ])
        #expect(try JSONEncoding.encode(index, sortedKeys: true) == foundation(index))
    }

    @Test func storedManifestsDecodeWithTheProjectCodec() throws {
        let manifest = Manifest(
            config: Descriptor(mediaType: MediaType.ociConfig, digest: config, size: 1),
            layers: [Descriptor(mediaType: MediaType.ociManifest, digest: layer, size: 2)])
        #expect(try JSONDecoding.decode(Manifest.self, from: foundation(manifest)) == manifest)
    }
}

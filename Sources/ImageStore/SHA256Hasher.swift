import CCrypto
import OCISpec

/// An incremental SHA-256 over OpenSSL's libcrypto.
///
/// It exists because every blob and every uncompressed layer stream is hashed as it streams past,
/// and libcrypto's hardware-accelerated SHA-256 keeps that from being the bottleneck of a pull.
public final class SHA256Hasher {
    private let context: OpaquePointer

    public init() {
        // EVP_MD_CTX_new only fails when out of memory, which Swift treats as fatal anyway.
        guard let context = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new: out of memory") }
        self.context = context
        EVP_DigestInit_ex(context, EVP_sha256(), nil)
    }

    deinit { EVP_MD_CTX_free(context) }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        EVP_DigestUpdate(context, base, bytes.count)
    }

    public func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// The digest of everything hashed so far. Call once.
    public func finalize() -> Digest {
        var output = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        output.withUnsafeMutableBufferPointer { _ = EVP_DigestFinal_ex(context, $0.baseAddress, &length) }
        let hex = output.map { byte -> String in
            let text = String(byte, radix: 16)
            return byte < 16 ? "0" + text : text
        }.joined()
        // A 32-byte hash always renders as 64 lowercase hex digits, which is a valid digest.
        guard let digest = try? Digest(sha256Hex: hex) else { fatalError("sha256 produced an invalid digest") }
        return digest
    }

    /// The SHA-256 digest of `bytes`.
    public static func digest(_ bytes: [UInt8]) -> Digest {
        let hasher = SHA256Hasher()
        hasher.update(bytes)
        return hasher.finalize()
    }
}

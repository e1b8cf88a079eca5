import LinuxSupport
import Testing

/// The one size parser: docker's spellings, overflow refused instead of trapping.
struct ByteSizeTests {
    static let sizes: [(String, Int64)] = [
        ("1024", 1024), ("512k", 524_288), ("512K", 524_288), ("256m", 268_435_456), ("2g", 2_147_483_648),
        ("1.5g", 1_610_612_736), ("0.5k", 512), ("512mb", 536_870_912), ("2GiB", 2_147_483_648), ("100b", 100),
        ("1t", 1_099_511_627_776), ("0", 0), (".5m", 524_288),
    ]

    @Test(arguments: sizes)
    func parsesDockerSizes(text: String, bytes: Int64) {
        #expect(ByteSize.parse(text) == bytes)
    }

    @Test(arguments: ["", "k", "-1", "1x", "1.2.3g", "99999999999g", "9223372036854775808", "8p1", "1e9", " 1", "16384p"])
    func refusesWhatIsNoSize(text: String) {
        #expect(ByteSize.parse(text) == nil)
    }
}

import Engine
import Testing

/// --log-driver and --log-opt checked as docker checks them.
@Suite struct LogConfigTests {
    func refusal(_ driver: String?, _ options: [String]) -> String? {
        do {
            _ = try LogConfig(driver: driver, options: options)
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func driversAndTheirRotation() throws {
        #expect(try LogConfig(driver: nil, options: []) == .jsonFile)
        let rotated = try LogConfig(driver: "json-file", options: ["max-size=1m", "max-file=3"])
        #expect(rotated.maxSize == 1 << 20 && rotated.maxFile == 3 && rotated.options == ["max-size": "1m", "max-file": "3"])
        let local = try LogConfig(driver: "local", options: [])
        #expect(local.maxSize == 20_000_000 && local.maxFile == 5)
        let none = try LogConfig(driver: "none", options: [])
        #expect(!none.readable && none.maxSize != nil && none.maxFile == 1)
        #expect(try LogConfig(driver: nil, options: ["max-size=-1"]).maxSize == nil)
        #expect(try LogConfig(driver: nil, options: ["mode=non-blocking", "tag=x"]).maxSize == nil)
    }

    @Test func refusedAsDockerRefuses() {
        #expect(refusal("syslog", [])?.contains("not supported") == true)
        #expect(refusal(nil, ["compress=true"])?.contains("uncompressed") == true)
        #expect(refusal(nil, ["max-file=3"])?.contains("needs max-size") == true)
        #expect(refusal(nil, ["max-size=0"]) != nil)
        #expect(refusal(nil, ["max-size=lots"]) != nil)
        #expect(refusal(nil, ["max-size=1m", "max-file=0"]) != nil)
        #expect(refusal(nil, ["mode=fast"]) != nil)
        #expect(refusal(nil, ["novalue"]) != nil)
        #expect(refusal("none", ["max-size=1m"]) != nil)
    }
}

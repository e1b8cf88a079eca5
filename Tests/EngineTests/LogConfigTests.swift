import Engine
import OCISpec
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

/// The health check's settings (flags over the image's HEALTHCHECK) and docker's status rules.
@Suite struct HealthConfigTests {
    @Test func flagsOverTheImage() throws {
        let image = Healthcheck(test: ["CMD", "/bin/check", "-q"], interval: 10_000_000_000, retries: 5)
        let fromImage = try #require(try HealthConfig.resolve(image: image, options: HealthOptions()))
        #expect(
            fromImage.arguments == ["/bin/check", "-q"] && fromImage.interval == 10 && fromImage.retries == 5 && fromImage.timeout == 30)
        var options = HealthOptions()
        options.command = "curl -f localhost"
        options.interval = "1m30s"
        let flagged = try #require(try HealthConfig.resolve(image: image, options: options))
        #expect(flagged.arguments == ["/bin/sh", "-c", "curl -f localhost"] && flagged.interval == 90 && flagged.retries == 5)
        #expect(flagged.dockerForm.interval == 90_000_000_000)
        var disabled = HealthOptions()
        disabled.disabled = true
        #expect(try HealthConfig.resolve(image: image, options: disabled) == nil)
        #expect(try HealthConfig.resolve(image: Healthcheck(test: ["NONE"]), options: HealthOptions()) == nil)
        #expect(try HealthConfig.resolve(image: nil, options: HealthOptions()) == nil)
    }

    @Test func statusFollowsDockersRules() {
        var state = HealthState.starting
        let fail = HealthState.Result(Start: "", End: "", ExitCode: 1, Output: "")
        let pass = HealthState.Result(Start: "", End: "", ExitCode: 0, Output: "")
        // Failures inside the start period do not count.
        state.record(fail, retries: 2, inStartPeriod: true)
        #expect(state.Status == "starting" && state.FailingStreak == 0)
        state.record(fail, retries: 2, inStartPeriod: false)
        #expect(state.Status == "starting" && state.FailingStreak == 1)
        state.record(fail, retries: 2, inStartPeriod: false)
        #expect(state.Status == "unhealthy")
        state.record(pass, retries: 2, inStartPeriod: false)
        #expect(state.Status == "healthy" && state.FailingStreak == 0)
        for _ in 0..<10 { state.record(fail, retries: 20, inStartPeriod: false) }
        #expect(state.Log.count == 5 && state.Status == "healthy")
    }
}

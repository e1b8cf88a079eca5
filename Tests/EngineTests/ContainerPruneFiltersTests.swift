import Engine
import Testing

/// `container prune --filter` and the API's prune filters: docker's label, label! and until, one
/// reading for both (the CLI had name, id and status of its own, and no until).
@Suite struct ContainerPruneFiltersTests {
    let now = 1_764_790_000.0  // 2025-12-03T19:26:40Z

    func record(labels: [String: String], created: String) -> EngineContainer {
        var record = EngineContainer(
            id: "c1", name: "c1", image: "busybox", imageID: "sha256:0", created: created, command: ["true"], autoRemove: false,
            stopSignal: nil)
        record.labels = labels
        return record
    }

    @Test func labelsMustAllMatchNotLabelsNoneAndUntilIsBefore() throws {
        let old = record(labels: ["tier": "web", "keep": "no"], created: "2025-12-01T00:00:00Z")
        let new = record(labels: ["tier": "web"], created: "2025-12-03T19:00:00Z")
        let filters = try ContainerPruneFilters(options: ["label=tier=web", "label!=keep=yes", "until=24h"], now: now)
        #expect(filters.matches(old))
        #expect(!filters.matches(new), "made within the last 24 hours")
        #expect(try !ContainerPruneFilters(options: ["label!=keep"], now: now).matches(old))
        #expect(try !ContainerPruneFilters(options: ["label=tier=db"], now: now).matches(old))
        #expect(try ContainerPruneFilters(options: ["until=2025-12-02T00:00:00Z"], now: now).matches(old))
        #expect(try ContainerPruneFilters(["label": ["tier"], "until": ["1764700000"]], now: now).matches(old))
        #expect(try ContainerPruneFilters(options: [], now: now).matches(new))
    }

    @Test func whatDockerDoesNotPruneByIsRefused() {
        for (option, words) in [
            ("name=web", "invalid filter 'name'"), ("status=exited", "invalid filter 'status'"), ("until=soon", "until=soon"),
            ("label", "label=KEY"), ("label=", "label=KEY"),
        ] {
            #expect { try ContainerPruneFilters(options: [option], now: now) } throws: { "\($0)".contains(words) }
        }
        #expect { try ContainerPruneFilters(["id": ["abc"]], now: now) } throws: { "\($0)".contains("label, label!, until") }
    }
}

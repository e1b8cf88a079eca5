#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import ContainerRuntime
import Engine
import Foundation

/// `skiff events`: the store's event journal (docker's `docker events`), the one the Docker API's
/// `/events` serves: past events from --since, then new ones as they happen, until --until
/// passes (or forever without it).
struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events", abstract: "Show the store's events (container and image changes).")

    @OptionGroup var engineOptions: EngineOptions
    @Option(help: "Show events from this time: a Unix time, an RFC 3339 time or a duration before now (10m).") var since: String?
    @Option(help: "Stop at this time (same forms); without it, follow new events.") var until: String?
    @Option(name: [.customShort("f"), .customLong("filter")], help: "type=, event=, container=, image=, label= (repeatable).")
    var filter: [String] = []
    @Option(help: "A Go template over each event (such as '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}'), or json.")
    var format: String?

    func run() async throws {
        try await withEngineErrors {
            let now = Date().timeIntervalSince1970
            let window = try LogTimeFilter(since: since, until: until, now: now)
            let eventFilter = try EventFilter(parsing: filter)
            let template = try TemplateOutput.template(format)
            let json = format == "json"
            let journal = EventJournal(root: engineOptions.absoluteRoot)
            func show(_ events: [EngineEvent]) throws {
                for event in events where eventFilter.matches(event) {
                    let seconds = Double(event.timeNano) / 1e9
                    if let since = window.since, seconds < since { continue }
                    if let until = window.until, seconds > until { continue }
                    if json {
                        print(String(decoding: try RuntimeJSON.encode(event), as: UTF8.self))
                    } else if let template {
                        print(try TemplateOutput.render(template, event, format: format ?? ""))
                    } else {
                        print(event.line)
                    }
                }
                fflush(nil)
            }
            var (past, cursor) = journal.readAll()
            if window.since == nil { past = [] }
            try show(past)
            while true {
                if let until = window.until, Date().timeIntervalSince1970 > until { return }
                usleep(100_000)
                let (fresh, next) = journal.readNew(after: cursor)
                cursor = next
                try show(fresh)
            }
        }
    }
}

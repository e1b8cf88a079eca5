import Foundation
import OCISpec
import Registry
import Synchronization

/// Shows transfer progress: a live table of layers (bytes and rate) on a terminal, plain
/// one-line events otherwise (logs, CI), so output stays readable either way.
final class ProgressDisplay: TransferProgress, Sendable {
    private let interactive: Bool
    /// What is on screen, changed by the transfer threads one at a time.
    private struct Screen {
        var order: [Digest] = []
        var rows: [Digest: Row] = [:]
        var drawnLines = 0
        var lastDraw = Date.distantPast
    }
    private let screen = Mutex(Screen())

    private struct Row {
        var phase: TransferPhase
        var done: Int64
        var total: Int64
        var started: Date
    }

    init(quiet: Bool = false) {
        interactive = !quiet && isatty(STDERR_FILENO) == 1
        self.quiet = quiet
    }
    private let quiet: Bool

    func message(_ text: String) {
        if quiet { return }
        screen.withLock { screen in
            if interactive { Self.clear(&screen) }
            print(text)
            fflush(nil)
            if interactive { Self.draw(&screen, force: true) }
        }
    }

    func update(_ digest: Digest, phase: TransferPhase, done: Int64, total: Int64) {
        if quiet { return }
        screen.withLock { screen in
            let previous = screen.rows[digest]
            if previous == nil { screen.order.append(digest) }
            screen.rows[digest] = Row(phase: phase, done: done, total: total, started: previous?.started ?? Date())
            if interactive {
                Self.draw(&screen, force: previous?.phase != phase)
            } else if previous?.phase != phase, phase != .downloading || previous == nil || previous?.phase == .waiting {
                if phase != .waiting {
                    FileHandle.standardError.write(Data("\(digest.shortID): \(phase.rawValue) \(Self.bytes(total))\n".utf8))
                }
            }
        }
    }

    private static func clear(_ screen: inout Screen) {
        if screen.drawnLines > 0 {
            FileHandle.standardError.write(Data("\u{1B}[\(screen.drawnLines)A\u{1B}[J".utf8))
            screen.drawnLines = 0
        }
    }

    private static func draw(_ screen: inout Screen, force: Bool) {
        guard force || Date().timeIntervalSince(screen.lastDraw) > 0.1 else { return }
        screen.lastDraw = Date()
        clear(&screen)
        var text = ""
        for digest in screen.order {
            guard let row = screen.rows[digest] else { continue }
            var line = "\(digest.shortID): \(row.phase.rawValue)"
            if row.phase == .downloading || row.phase == .uploading {
                let elapsed = max(Date().timeIntervalSince(row.started), 0.001)
                let rate = Double(row.done) / elapsed
                line += " \(Self.bytes(row.done))/\(Self.bytes(row.total)) \(Self.bytes(Int64(rate)))/s"
            } else if row.phase == .done || row.phase == .exists {
                line += " \(Self.bytes(row.total))"
            }
            text += line + "\n"
        }
        FileHandle.standardError.write(Data(text.utf8))
        screen.drawnLines = screen.order.count
    }

    static func bytes(_ count: Int64) -> String {
        let units = ["B", "kB", "MB", "GB", "TB"]
        var value = Double(count)
        var unit = 0
        while value >= 1000 && unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        return unit == 0 ? "\(count)B" : String(format: "%.1f%@", value, units[unit])
    }
}

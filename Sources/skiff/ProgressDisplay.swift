import Foundation
import OCISpec
import Registry

/// Shows transfer progress: a live table of layers (bytes and rate) on a terminal, plain
/// one-line events otherwise (logs, CI), so output stays readable either way.
final class ProgressDisplay: TransferProgress, @unchecked Sendable {
    private let lock = NSLock()
    private let interactive: Bool
    private var order: [Digest] = []
    private var rows: [Digest: Row] = [:]
    private var drawnLines = 0
    private var lastDraw = Date.distantPast

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
        lock.withLock {
            if interactive { clear() }
            print(text)
            fflush(nil)
            if interactive { draw(force: true) }
        }
    }

    func update(_ digest: Digest, phase: TransferPhase, done: Int64, total: Int64) {
        if quiet { return }
        lock.withLock {
            let previous = rows[digest]
            if previous == nil { order.append(digest) }
            rows[digest] = Row(phase: phase, done: done, total: total, started: previous?.started ?? Date())
            if interactive {
                draw(force: previous?.phase != phase)
            } else if previous?.phase != phase, phase != .downloading || previous == nil || previous?.phase == .waiting {
                if phase != .waiting {
                    FileHandle.standardError.write(Data("\(digest.shortID): \(phase.rawValue) \(Self.bytes(total))\n".utf8))
                }
            }
        }
    }

    private func clear() {
        if drawnLines > 0 {
            FileHandle.standardError.write(Data("\u{1B}[\(drawnLines)A\u{1B}[J".utf8))
            drawnLines = 0
        }
    }

    private func draw(force: Bool) {
        guard force || Date().timeIntervalSince(lastDraw) > 0.1 else { return }
        lastDraw = Date()
        clear()
        var text = ""
        for digest in order {
            guard let row = rows[digest] else { continue }
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
        drawnLines = order.count
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

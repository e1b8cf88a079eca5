#if canImport(Glibc)
import Glibc
#endif
import ContainerRuntime
import LinuxSupport

/// `--log-driver` and `--log-opt`: where the monitor keeps a container's output, and how much.
/// json-file is docker's default and format; `local` is the same file with docker's local
/// driver's rotation defaults (20 MB files, 5 of them); `none` keeps no readable log (`logs`
/// refuses, as docker's does), only the last 1 MB for attached clients.
public struct LogConfig: Codable, Sendable, Equatable {
    public enum Driver: String, Codable, Sendable, CaseIterable {
        case jsonFile = "json-file"
        case local
        case none
    }

    public var driver: Driver
    /// Rotate once the current file reaches this many bytes (nil: never).
    public var maxSize: Int64?
    /// How many files to keep, the current one included.
    public var maxFile: Int
    /// The options as given, for inspect's HostConfig.LogConfig.Config.
    public var options: [String: String]

    public static let jsonFile = LogConfig(driver: .jsonFile, maxSize: nil, maxFile: 1, options: [:])
    /// What `none` keeps for attached clients (the foreground `run` follows the log file).
    static let noneRollingSize: Int64 = 1 << 20

    public static let supportedOptions = ["max-size", "max-file", "mode", "max-buffer-size", "labels", "env", "tag"]

    public init(driver: Driver, maxSize: Int64?, maxFile: Int, options: [String: String]) {
        (self.driver, self.maxSize, self.maxFile, self.options) = (driver, maxSize, maxFile, options)
    }

    /// docker's checks: a known driver, known options, max-size a positive size, max-file at
    /// least 1 and more than 1 only with max-size.
    public init(driver text: String?, options list: [String]) throws(EngineError) {
        guard let driver = Driver(rawValue: text ?? "json-file") else {
            throw .invalidOption(
                "--log-driver '\(text ?? "")' is not supported: use " + Driver.allCases.map(\.rawValue).joined(separator: ", ")
                    + " (skiff has no syslog, journald or remote drivers)")
        }
        var options: [String: String] = [:]
        for item in list {
            guard let equals = item.firstIndex(of: "="), item.startIndex != equals else {
                throw .invalidOption("--log-opt '\(item)': use KEY=VALUE")
            }
            let key = String(item[..<equals])
            guard Self.supportedOptions.contains(key) else {
                throw .invalidOption(
                    "--log-opt '\(key)' is not supported by \(driver.rawValue): use " + Self.supportedOptions.joined(separator: ", ")
                        + (key == "compress" ? " (rotated files are kept uncompressed)" : ""))
            }
            options[key] = String(item[item.index(after: equals)...])
        }
        if driver == .none, !options.isEmpty { throw .invalidOption("--log-opt does not go with --log-driver none") }
        var maxSize: Int64? = driver == .local ? 20_000_000 : nil
        var maxFile = driver == .local ? 5 : 1
        if let text = options["max-size"], text != "-1" {
            guard let size = ByteSize.parse(text), size > 0 else {
                throw .invalidOption("--log-opt max-size='\(text)': use a positive size such as 10m, or -1 for no limit")
            }
            maxSize = size
        } else if options["max-size"] == "-1" {
            maxSize = nil
        }
        if let text = options["max-file"] {
            guard let count = Int(text), count >= 1, count <= 1000 else {
                throw .invalidOption("--log-opt max-file='\(text)': use a number of files from 1 to 1000")
            }
            guard count == 1 || maxSize != nil else { throw .invalidOption("--log-opt max-file needs max-size: rotation starts at a size") }
            maxFile = count
        }
        if let mode = options["mode"], mode != "blocking", mode != "non-blocking" {
            throw .invalidOption("--log-opt mode='\(mode)': use blocking or non-blocking")
        }
        if driver == .none { (maxSize, maxFile) = (Self.noneRollingSize, 1) }
        self.init(driver: driver, maxSize: maxSize, maxFile: maxFile, options: options)
    }

    /// Whether `logs` can read it.
    public var readable: Bool { driver != .none }
}

/// The files of a container's log: `container.log`, and the rotated `container.log.1` (newest)
/// to `container.log.N` (oldest).
public enum ContainerLogFiles {
    public static func rotated(_ path: String, index: Int) -> String { path + "." + String(index) }

    /// Every entry of the rotated files, oldest first (the current file is read by its reader).
    public static func rotatedEntries(_ path: String) -> [LogEntry] {
        var files: [String] = []
        var index = 1
        while FileIO.exists(rotated(path, index: index)) {
            files.append(rotated(path, index: index))
            index += 1
        }
        var entries: [LogEntry] = []
        for file in files.reversed() {
            guard let bytes = try? FileIO.read(file) else { continue }
            var start = 0
            for position in bytes.indices where bytes[position] == UInt8(ascii: "\n") {
                if let entry = try? RuntimeJSON.decode(LogEntry.self, from: Array(bytes[start..<position])) { entries.append(entry) }
                start = position + 1
            }
        }
        return entries
    }

    /// Removes the rotated files (the container's directory goes with `rm` anyway).
    public static func removeRotated(_ path: String) {
        var index = 1
        while unlink(rotated(path, index: index)) == 0 { index += 1 }
    }
}

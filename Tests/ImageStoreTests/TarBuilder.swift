import CArchive
import Foundation
import LinuxSupport
import OCISpec

/// Writes layer tarballs with libarchive for tests, including entries no honest tool would write.
final class TarBuilder {
    enum Compression { case none, gzip, zstd }
    private let archive: OpaquePointer
    let path: String

    init(path: String, compression: Compression = .gzip) throws {
        guard let archive = archive_write_new() else { throw TestFailure("archive_write_new") }
        self.archive = archive
        self.path = path
        archive_write_set_format_pax_restricted(archive)
        switch compression {
        case .none: archive_write_add_filter_none(archive)
        case .gzip: archive_write_add_filter_gzip(archive)
        case .zstd: archive_write_add_filter_zstd(archive)
        }
        guard archive_write_open_filename(archive, path) == ARCHIVE_OK else { throw TestFailure("open \(path)") }
    }

    @discardableResult
    func add(
        _ name: String, type: UInt32 = 0o100000, mode: UInt32 = 0o644, content: [UInt8] = [],
        uid: Int64 = 0, gid: Int64 = 0, symlink: String? = nil, hardlink: String? = nil,
        device: (UInt, UInt)? = nil, xattrs: [String: [UInt8]] = [:], mtime: Int = 1_600_000_000
    ) -> TarBuilder {
        let entry = archive_entry_new()
        defer { archive_entry_free(entry) }
        archive_entry_set_pathname(entry, name)
        if let hardlink {
            archive_entry_set_hardlink(entry, hardlink)
        } else {
            archive_entry_set_filetype(entry, type)
        }
        archive_entry_set_perm(entry, mode_t(mode))
        archive_entry_set_uid(entry, uid)
        archive_entry_set_gid(entry, gid)
        archive_entry_set_mtime(entry, mtime, 0)
        if let symlink { archive_entry_set_symlink(entry, symlink) }
        if let device {
            archive_entry_set_rdevmajor(entry, dev_t(device.0))
            archive_entry_set_rdevminor(entry, dev_t(device.1))
        }
        for (key, value) in xattrs.sorted(by: { $0.key < $1.key }) {
            value.withUnsafeBytes { archive_entry_xattr_add_entry(entry, key, $0.baseAddress, value.count) }
        }
        archive_entry_set_size(entry, type == 0o100000 && hardlink == nil ? Int64(content.count) : 0)
        archive_write_header(archive, entry)
        if !content.isEmpty {
            content.withUnsafeBytes { _ = archive_write_data(archive, $0.baseAddress, content.count) }
        }
        return self
    }

    @discardableResult
    func dir(_ name: String, mode: UInt32 = 0o755, uid: Int64 = 0, gid: Int64 = 0) -> TarBuilder {
        add(name, type: 0o040000, mode: mode, uid: uid, gid: gid)
    }

    @discardableResult
    func file(_ name: String, _ text: String, mode: UInt32 = 0o644, uid: Int64 = 0, gid: Int64 = 0) -> TarBuilder {
        add(name, mode: mode, content: Array(text.utf8), uid: uid, gid: gid)
    }

    @discardableResult
    func symlink(_ name: String, to target: String) -> TarBuilder {
        add(name, type: 0o120000, mode: 0o777, symlink: target)
    }

    @discardableResult
    func hardlink(_ name: String, to target: String) -> TarBuilder {
        add(name, hardlink: target)
    }

    func finish() {
        archive_write_close(archive)
        archive_write_free(archive)
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A directory under /tmp removed when the test ends.
final class TemporaryDirectory {
    let path: String
    init() throws {
        path = "/tmp/skiff-imagestore-test-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit {
        // Unmount anything a failed test left mounted beneath, then remove.
        if let mounts = try? Mounts.table() {
            for line in mounts.split(separator: "\n") {
                let fields = line.split(separator: " ")
                if fields.count > 4, fields[4].hasPrefix(path) { umount2(String(fields[4]), 2) }
            }
        }
        try? FileManager.default.removeItem(atPath: path)
    }
}

let isRoot = getuid() == 0

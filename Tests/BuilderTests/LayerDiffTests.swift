#if canImport(Glibc)
import Glibc
#endif
import Builder
import CArchive
import LinuxSupport
import Testing

/// The layer of a build step from a real overlayfs upper directory: what the kernel writes for
/// a deletion and a replaced directory must come out as docker's whiteouts.
@Suite struct LayerDiffTests {
    /// (path, type character, size or link target) of every entry of the tar in `path`.
    func entries(_ path: String) throws -> [String] {
        guard let archive = archive_read_new() else { throw SystemError("archive_read_new") }
        defer { archive_read_free(archive) }
        archive_read_support_format_tar(archive)
        guard archive_read_open_filename(archive, path, 10240) == ARCHIVE_OK else { throw SystemError("open \(path)") }
        var result: [String] = []
        var entry: OpaquePointer?
        while archive_read_next_header(archive, &entry) == ARCHIVE_OK, let entry {
            let name = String(cString: archive_entry_pathname(entry))
            let mode = archive_entry_filetype(entry)
            var line = name
            if let link = archive_entry_hardlink(entry) {
                line += " hardlink " + String(cString: link)
            } else if mode == S_IFLNK {
                line += " -> " + String(cString: archive_entry_symlink(entry))
            } else if mode == S_IFREG {
                line += " \(archive_entry_size(entry))"
            }
            result.append(line)
        }
        return result
    }

    func run(_ command: String) throws {
        let result = try Subprocess.run(path: "/bin/sh", args: ["sh", "-c", command], env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"])
        guard result.status == 0 else { throw SystemError("\(command) exited with \(result.status)") }
    }

    @Test func deletionsAndReplacedDirectoriesBecomeWhiteouts() throws {
        guard getuid() == 0 else {
            print("skipped: mounting overlayfs needs root")
            return
        }
        var template = Array("/tmp/skiff-layerdiff-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw SystemError("mkdtemp") }
        let base = String(cString: made)
        defer {
            _ = umount2("\(base)/merged", UnmountFlags.detach)
            _ = try? run("rm -rf \(base)")
        }
        try run(
            "mkdir -p \(base)/lower/etc \(base)/lower/gone-dir/sub \(base)/lower/replaced/old \(base)/upper \(base)/work \(base)/merged"
                + " && echo a > \(base)/lower/etc/keep && echo b > \(base)/lower/etc/remove && echo c > \(base)/lower/replaced/old/file")
        let options = "lowerdir=\(base)/lower,upperdir=\(base)/upper,workdir=\(base)/work"
        guard mount("overlay", "\(base)/merged", "overlay", 0, options) == 0 else {
            let error = SystemError("mount overlay")
            print("skipped: the host cannot mount overlayfs here (\(error))")
            return
        }
        try run(
            "cd \(base)/merged && rm etc/remove && echo new > etc/added && rm -r gone-dir && rm -r replaced && mkdir -p replaced/fresh"
                + " && echo x > replaced/fresh/file && ln -s ../etc/keep replaced/link && ln etc/added etc/hard")
        guard umount2("\(base)/merged", 0) == 0 else { throw SystemError("umount") }
        let output = open("\(base)/layer.tar", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        #expect(output >= 0)
        try LayerDiff.write(upper: "\(base)/upper", to: output)
        close(output)
        let listed = try entries("\(base)/layer.tar")
        // Each directory's entries in name order, depth first; a whiteout sorts by the name it hides.
        #expect(
            listed == [
                "etc/", "etc/added 4", "etc/hard hardlink etc/added", "etc/.wh.remove 0", ".wh.gone-dir 0", "replaced/",
                "replaced/.wh..wh..opq 0", "replaced/fresh/", "replaced/fresh/file 2", "replaced/link -> ../etc/keep",
            ])
    }
}

#if canImport(Glibc)
import Glibc
#endif
import CShim
import LinuxSupport

/// A container's network namespace, persisted as a bind mount of its nsfs file (as `ip netns`
/// does) so it exists before the container's processes and the CNI plugins can enter it by path.
public enum NetworkNamespace {
    /// Creates the namespace (loopback up) at `path`. Fails if `path` exists.
    public static func create(at path: String) throws {
        let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        if !directory.isEmpty { try FileIO.makeDirectories(directory, mode: 0o755) }
        let fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o444)
        guard fd >= 0 else { throw NetworkError.namespace("cannot create \(path): \(String(cString: strerror(errno)))") }
        close(fd)
        guard skiff_netns_create(path) == 0 else {
            let error = errno
            unlink(path)
            throw NetworkError.namespace("cannot create a network namespace at \(path): \(String(cString: strerror(error)))")
        }
    }

    /// Persists an existing namespace (`/proc/PID/ns/net` of another container's process) at
    /// `path`, as `ip netns attach` does: a container joining that namespace joins `path`. Fails
    /// if `path` exists; nothing is left when it fails.
    public static func bind(from source: String, at path: String) throws {
        let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        if !directory.isEmpty { try FileIO.makeDirectories(directory, mode: 0o755) }
        let fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o444)
        guard fd >= 0 else { throw NetworkError.namespace("cannot create \(path): \(String(cString: strerror(errno)))") }
        close(fd)
        do { try Mounts.mount(source: source, target: path, type: nil, flags: MountFlags.bind, data: nil) } catch {
            unlink(path)
            throw NetworkError.namespace("cannot persist the network namespace \(source) at \(path): \(error)")
        }
    }

    /// Unmounts and removes the namespace file; nothing to do when it is gone. The namespace
    /// itself (and the container end of its veth) goes when nothing else holds it.
    public static func remove(at path: String) {
        while umount2(path, Int32(MNT_DETACH)) == 0 {}
        unlink(path)
    }

    public static func exists(at path: String) -> Bool { FileIO.exists(path) }

    /// Whether `path` holds a namespace (an nsfs mount), not merely the empty file `create`
    /// makes first: a monitor killed between the two leaves that file behind.
    public static func isMounted(at path: String) -> Bool {
        skiff_fs_type(path) == 0x6e73_6673  // NSFS_MAGIC
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// Messages from the agent itself go to the guest's console (the VM's serial line), which the
/// host keeps and quotes when the agent never answers.
enum FileHandleOutput {
    static func standardError(_ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            offset += n
        }
        bytes.removeAll()
    }

    static func log(_ text: String) { standardError("skiff-agent: " + text + "\n") }
}

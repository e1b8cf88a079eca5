/// Everything the engine can refuse or fail at, each with what the user should do, and the
/// docker exit code the CLI returns for it (125 engine error, 126 cannot invoke, 127 not found).
public enum EngineError: Error, CustomStringConvertible, Sendable {
    case noSuchContainer(String)
    case ambiguousContainer(String)
    case nameInUse(name: String, id: String)
    case invalidName(String)
    case noCommand(image: String)
    case invalidOption(String)
    case userNotFound(String)
    case groupNotFound(String)
    case wrongState(container: String, status: String, action: String)
    case commandNotFound(String)
    case cannotInvoke(String)
    case startFailed(String)
    case corruptRecord(path: String, reason: String)
    case timedOut(String)
    case noSuchVolume(String)
    case volumeInUse(name: String, containers: [String])

    public var description: String {
        switch self {
        case .noSuchContainer(let name):
            return "no such container: \(name) (see `skiff ps -a`)"
        case .ambiguousContainer(let prefix):
            return "container ID prefix '\(prefix)' matches several containers: give more characters or the name"
        case .nameInUse(let name, let id):
            return "the container name '\(name)' is already in use by container \(id): remove it or choose another --name"
        case .invalidName(let name):
            return "invalid container name '\(name)': use [a-zA-Z0-9][a-zA-Z0-9_.-]*"
        case .noCommand(let image):
            return "no command specified: image \(image) has no Entrypoint or Cmd; give a command after the image name"
        case .invalidOption(let message):
            return message
        case .userNotFound(let user):
            return "unable to find user \(user): no matching entries in the image's /etc/passwd; give a numeric UID instead"
        case .groupNotFound(let group):
            return "unable to find group \(group): no matching entries in the image's /etc/group; give a numeric GID instead"
        case .wrongState(let container, let status, let action):
            return "cannot \(action) container \(container): it is \(status)"
        case .commandNotFound(let message):
            return "\(message): check the command and the image's PATH"
        case .cannotInvoke(let message):
            return "\(message): the command cannot be invoked (check that it is an executable file)"
        case .startFailed(let message):
            return "cannot start the container: \(message)"
        case .timedOut(let container):
            return "timed out waiting for container \(container) to stop"
        case .noSuchVolume(let name):
            return "no such volume: \(name) (see `skiff volume ls`)"
        case .volumeInUse(let name, let containers):
            return "volume \(name) is in use by container \(containers.joined(separator: ", ")): remove the container first"
        case .corruptRecord(let path, let reason):
            return "container record \(path) is unreadable (\(reason)): remove the container with `skiff rm -f`"
        }
    }

    /// docker's exit code for this error.
    public var exitCode: Int32 {
        switch self {
        case .commandNotFound: return 127
        case .cannotInvoke: return 126
        default: return 125
        }
    }
}

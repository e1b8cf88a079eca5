/// The typed form of a Dockerfile, as `DockerfileParser` makes it.
///
/// Arguments are kept as written (quotes and escapes included) wherever docker substitutes
/// variables, because what they expand to depends on the ENV and ARG values in force when the
/// step runs: the executor passes them through `ShellWord` then. Where docker does not
/// substitute (RUN, CMD, ENTRYPOINT, SHELL, HEALTHCHECK, MAINTAINER) the text is final.

/// A place in a Dockerfile: 1-based line and column.
public struct SourceLocation: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }
}

/// The exec form (a JSON array, run without a shell) or the shell form (one string given to
/// the SHELL, `/bin/sh -c` by default).
public enum CommandForm: Sendable, Equatable {
    case exec([String])
    case shell(String)
}

/// A here-document: `<<NAME` on the instruction line, its lines up to a line that is `NAME`.
public struct Heredoc: Sendable, Equatable {
    /// The terminator word, quotes removed.
    public var name: String
    /// The lines between the instruction and the terminator, each with its newline (leading
    /// tabs already removed for `<<-`).
    public var content: String
    /// False when the terminator was quoted (`<<"EOF"`, `<<'EOF'`): no variable expansion.
    public var expands: Bool
    /// True for `<<-NAME`.
    public var stripsTabs: Bool

    public init(name: String, content: String, expands: Bool, stripsTabs: Bool) {
        self.name = name
        self.content = content
        self.expands = expands
        self.stripsTabs = stripsTabs
    }
}

/// One `NAME=VALUE` of ENV or LABEL (or docker's older `ENV NAME VALUE`), as written.
public struct KeyValue: Sendable, Equatable {
    public var key: String
    public var value: String

    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}

/// One `NAME` or `NAME=DEFAULT` of ARG; the default as written.
public struct ArgDefinition: Sendable, Equatable {
    public var name: String
    public var defaultValue: String?

    public init(name: String, defaultValue: String?) {
        self.name = name
        self.defaultValue = defaultValue
    }
}

public struct FromInstruction: Sendable, Equatable {
    /// The base as written: an image reference, `scratch` or an earlier stage's name or index.
    public var image: String
    /// The stage name of `AS NAME`, lowercased as docker does.
    public var stageName: String?
    public var platform: String?

    public init(image: String, stageName: String?, platform: String?) {
        self.image = image
        self.stageName = stageName
        self.platform = platform
    }
}

/// `RUN --mount=...`: the mount's type and its options.
public struct RunMount: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable {
        case bind, cache, tmpfs, secret, ssh
    }
    public var kind: Kind
    public var target: String?
    public var source: String?
    public var from: String?
    public var id: String?
    public var readOnly: Bool
    /// Every option as written (keys lowercased), for the ones not named above
    /// (sharing, mode, uid, gid, required, size, env).
    public var options: [String: String]
}

public struct RunInstruction: Sendable, Equatable {
    public var command: CommandForm
    public var heredocs: [Heredoc]
    public var mounts: [RunMount]
    /// `--network=default|none|host`.
    public var network: String?
    /// `--security=sandbox|insecure`.
    public var security: String?

    public init(command: CommandForm, heredocs: [Heredoc] = [], mounts: [RunMount] = [], network: String? = nil, security: String? = nil) {
        self.command = command
        self.heredocs = heredocs
        self.mounts = mounts
        self.network = network
        self.security = security
    }
}

/// One source of COPY or ADD: a path (or glob, or for ADD a URL) as written, or a heredoc.
public enum CopySource: Sendable, Equatable {
    case path(String)
    case heredoc(Heredoc)
}

public struct CopyInstruction: Sendable, Equatable {
    /// True for ADD.
    public var isAdd: Bool
    public var sources: [CopySource]
    public var destination: String
    public var from: String?
    public var chown: String?
    public var chmod: String?
    public var link: Bool
    public var parents: Bool
    public var excludes: [String]
    /// ADD only.
    public var checksum: String?
    public var keepGitDir: Bool
}

public enum HealthcheckInstruction: Sendable, Equatable {
    /// `HEALTHCHECK NONE`: the base image's check is turned off.
    case disabled
    /// Durations in nanoseconds, as the image config stores them; nil when not given.
    case check(
        test: CommandForm, interval: Int64?, timeout: Int64?, startPeriod: Int64?, startInterval: Int64?, retries: Int?)
}

public indirect enum Instruction: Sendable, Equatable {
    case from(FromInstruction)
    case run(RunInstruction)
    case copy(CopyInstruction)
    case env([KeyValue])
    case arg([ArgDefinition])
    case workdir(String)
    case user(String)
    case expose([String])
    case volume([String])
    case label([KeyValue])
    case cmd(CommandForm)
    case entrypoint(CommandForm)
    case shell([String])
    case stopSignal(String)
    case healthcheck(HealthcheckInstruction)
    /// The trigger as written (stored in the image's OnBuild) and its parsed form.
    case onbuild(trigger: String, Instruction)
    case maintainer(String)
}

/// An instruction with where it was and its text as written (continuations joined), which
/// progress output and history entries show.
public struct ParsedInstruction: Sendable, Equatable {
    public var instruction: Instruction
    public var location: SourceLocation
    public var text: String
}

/// One build stage: its FROM and the instructions up to the next FROM.
public struct Stage: Sendable, Equatable {
    public var index: Int
    public var from: FromInstruction
    public var location: SourceLocation
    public var fromText: String
    public var instructions: [ParsedInstruction]

    public var name: String? { from.stageName }
}

public struct Dockerfile: Sendable, Equatable {
    public var escape: Character
    /// `# syntax=`, which skiff does not follow (it has one builder), and other remarks.
    public var notes: [String]
    /// ARGs before the first FROM: visible to FROM lines, and to stages that redeclare them.
    public var globalArgs: [ArgDefinition]
    public var stages: [Stage]

    /// The stage `--target` names (by name, case-insensitively), or the last.
    public func stage(named target: String?) -> Stage? {
        guard let target else { return stages.last }
        return stages.first { $0.name == target.lowercased() }
    }
}

/// Docker's rule for the program a container runs, from the image's Entrypoint and Cmd and the
/// user's `--entrypoint` and trailing arguments. Pure, so it is unit-tested against docker's cases.
public enum CommandLineMerge {
    /// - `entrypointOverride`: nil when `--entrypoint` was not given; `""` clears the entrypoint.
    /// - Overriding the entrypoint also drops the image's Cmd (docker does the same).
    /// - Arguments after the image replace the Cmd, never the Entrypoint.
    public static func merge(
        imageEntrypoint: [String]?, imageCmd: [String]?, entrypointOverride: String?,
        arguments: [String]
    ) -> [String] {
        let entrypoint: [String]
        var cmd: [String]
        if let entrypointOverride {
            entrypoint = entrypointOverride.isEmpty ? [] : [entrypointOverride]
            cmd = []
        } else {
            entrypoint = imageEntrypoint ?? []
            cmd = imageCmd ?? []
        }
        if !arguments.isEmpty { cmd = arguments }
        return entrypoint + cmd
    }
}

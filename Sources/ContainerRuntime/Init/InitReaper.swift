/// The minimal init of `skiff run --init` (docker's --init, tini's job): asked for by an
/// annotation on the spec, run by the init stage in C (`skiff_init_reaper_exec`) because it
/// forks, and built into our own binary because the image may have no libc for another one.
public enum InitReaper {
    /// Annotation that makes the container's PID 1 a reaper and signal forwarder whose child
    /// runs process.args: value "true".
    public static let annotation = "org.skiff.init"
}

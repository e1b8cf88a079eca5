/// Placeholder replaced as the runtime lands.
public enum RuntimePlaceholder {}

import ContainerRuntime

/// `features`: what this runtime supports, as the spec's features JSON.
enum FeaturesCommand {
    static let spec = CommandSpec(name: "features", summary: "Print what this runtime supports, as JSON.", usage: "") { _ in
        try JSONOutput.print(FeaturesReport.make())
        return 0
    }
}

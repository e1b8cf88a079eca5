/// Which stages a build needs and what each is built on: the target stage and, transitively,
/// the stages its FROM, `COPY --from` and `RUN --mount=from=` name. Stages nothing needs are not
/// built, as docker's BuildKit does.
public struct BuildPlan: Sendable, Equatable {
    public enum Base: Sendable, Equatable {
        case scratch
        /// An image reference (FROM's argument with the global ARGs expanded).
        case image(String)
        /// An earlier stage, by index.
        case stage(Int)
    }

    public struct PlannedStage: Sendable, Equatable {
        public var stage: Stage
        public var base: Base
        /// Earlier stages this one reads from (its base included), by index.
        public var dependencies: [Int]
    }

    /// The stages to build, in Dockerfile order (every dependency before its user).
    public var stages: [PlannedStage]
    /// The ARG values before the first FROM (defaults, or `--build-arg` values).
    public var globalArgs: [String: String]
    /// `--build-arg`s that no ARG declares (docker warns about them).
    public var unusedBuildArgs: [String]

    /// Args docker passes to RUN without a declaration (but keeps out of the cache key and history).
    public static let predefinedArgs: Set<String> = [
        "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY",
        "all_proxy",
    ]

    /// The platform args BuildKit gives the global scope (a stage gets them with `ARG NAME`).
    public static func platformArgs(os: String = "linux", architecture: String = "amd64") -> [String: String] {
        [
            "TARGETPLATFORM": "\(os)/\(architecture)", "TARGETOS": os, "TARGETARCH": architecture, "TARGETVARIANT": "",
            "BUILDPLATFORM": "\(os)/\(architecture)", "BUILDOS": os, "BUILDARCH": architecture, "BUILDVARIANT": "",
        ]
    }

    public init(dockerfile: Dockerfile, target: String?, buildArgs: [String: String]) throws(DockerfileError) {
        var global = Self.platformArgs()
        var declared: Set<String> = []
        for definition in dockerfile.globalArgs {
            declared.insert(definition.name)
            if let value = buildArgs[definition.name] {
                global[definition.name] = value
            } else if let raw = definition.defaultValue {
                let scope = global
                global[definition.name] = try ShellWord(escape: dockerfile.escape) { scope[$0] }.process(raw)
            } else if Self.platformArgs()[definition.name] == nil {
                global.removeValue(forKey: definition.name)
            }
        }
        guard let targetStage = dockerfile.stage(named: target) else {
            let names = dockerfile.stages.compactMap(\.name)
            throw DockerfileError(
                "target stage \"\(target ?? "")\" could not be found" + (names.isEmpty ? "" : " (stages: \(names.joined(separator: ", ")))")
            )
        }
        let scope = global
        let word = ShellWord(escape: dockerfile.escape) { scope[$0] }

        func stageIndex(_ reference: String, before index: Int) -> Int? {
            let lowered = reference.lowercased()
            if let found = dockerfile.stages[..<index].first(where: { $0.name == lowered }) { return found.index }
            if let number = Int(reference), number >= 0, number < index { return number }
            return nil
        }

        var bases: [Base] = []
        var dependencies: [[Int]] = []
        for stage in dockerfile.stages {
            let image: String
            do {
                image = try word.process(stage.from.image)
            } catch {
                throw DockerfileError(error.message, at: stage.location)
            }
            guard !image.isEmpty else {
                throw DockerfileError("FROM has an empty base image after substitution (\(stage.from.image))", at: stage.location)
            }
            var needs: [Int] = []
            let base: Base
            if let earlier = dockerfile.stages[..<stage.index].first(where: { $0.name == image.lowercased() }) {
                base = .stage(earlier.index)
                needs.append(earlier.index)
            } else if image.lowercased() == "scratch" {
                base = .scratch
            } else {
                base = .image(image)
            }
            for parsed in stage.instructions {
                var references: [String] = []
                switch parsed.instruction {
                case .copy(let copy): if let from = copy.from { references.append(from) }
                case .run(let run): references += run.mounts.compactMap(\.from)
                default: break
                }
                for reference in references {
                    let expanded = (try? word.process(reference)) ?? reference
                    if let index = stageIndex(expanded, before: stage.index) {
                        if !needs.contains(index) { needs.append(index) }
                    } else if dockerfile.stages.contains(where: { $0.name == expanded.lowercased() }) {
                        throw DockerfileError("stage \"\(expanded)\" is used before it is defined", at: parsed.location)
                    }
                }
            }
            bases.append(base)
            dependencies.append(needs)
        }

        var needed: Set<Int> = [targetStage.index]
        var work = [targetStage.index]
        while let index = work.popLast() {
            for dependency in dependencies[index] where needed.insert(dependency).inserted { work.append(dependency) }
        }
        stages = dockerfile.stages.filter { needed.contains($0.index) }.map {
            PlannedStage(stage: $0, base: bases[$0.index], dependencies: dependencies[$0.index])
        }
        globalArgs = global
        for stage in stages {
            for parsed in stage.stage.instructions {
                if case .arg(let definitions) = parsed.instruction { declared.formUnion(definitions.map(\.name)) }
            }
        }
        unusedBuildArgs = buildArgs.keys.filter { !declared.contains($0) && !Self.predefinedArgs.contains($0) }.sorted()
    }
}

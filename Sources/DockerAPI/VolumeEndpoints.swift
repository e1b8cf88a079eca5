import Engine
import LinuxSupport
import Networking

/// The body of `POST /volumes/create`: docker's VolumeCreateOptions.
struct VolumeCreateBody: Decodable {
    var Name: String?
    var Driver: String?
    var DriverOpts: [String: String]?
    var Labels: [String: String]?

    func validated() throws(APIError) -> (name: String?, labels: [String: String]) {
        if let driver = Driver, !driver.isEmpty, driver != "local" {
            throw .badRequest("volume driver \"\(driver)\" is not supported by skiff: use local")
        }
        if let options = DriverOpts, !options.isEmpty {
            throw .badRequest(
                "volume driver options (\(options.keys.sorted().joined(separator: ", "))) are not supported by skiff: its volumes are directories"
            )
        }
        return (Name.flatMap { $0.isEmpty ? nil : $0 }, Labels ?? [:])
    }
}

/// docker's Volume document.
struct VolumeResource: Encodable {
    struct Usage: Encodable {
        var Size: Int64
        var RefCount: Int
    }
    var Name: String
    var Driver: String
    var Mountpoint: String
    var CreatedAt: String
    var Labels: [String: String]
    var Scope: String
    var Options: [String: String]
    var UsageData: Usage?
}

/// docker's filters on volumes: name (substring), label, driver, dangling.
enum VolumeFilter {
    static let known = ["name", "label", "driver", "dangling"]

    static func matches(_ volume: VolumeRecord, filters: [String: [String]], users: Int) throws(APIError) -> Bool {
        if let unknown = filters.keys.first(where: { !known.contains($0) }) {
            throw .badRequest("invalid filter '\(unknown)': skiff filters volumes by \(known.joined(separator: ", "))")
        }
        if let names = filters["name"], !names.isEmpty, !names.contains(where: { volume.name.contains($0) }) { return false }
        if let labels = filters["label"], !LabelFilter.all(labels, match: volume.labels ?? [:]) { return false }
        if let drivers = filters["driver"], !drivers.isEmpty, !drivers.contains(volume.driver) { return false }
        if let dangling = filters["dangling"], let value = dangling.last {
            guard let wanted = LabelFilter.bool(value) else { throw .badRequest("invalid filter 'dangling=\(value)': use true or false") }
            if wanted != (users == 0) { return false }
        }
        return true
    }
}

extension DockerService {
    func volumeResource(_ volume: VolumeRecord, usage: VolumeResource.Usage? = nil) -> VolumeResource {
        VolumeResource(
            Name: volume.name, Driver: volume.driver, Mountpoint: engine.volumes.dataPath(of: volume.name), CreatedAt: volume.created,
            Labels: volume.labels ?? [:], Scope: "local", Options: [:], UsageData: usage)
    }

    func loadVolume(_ name: String) throws -> VolumeRecord {
        guard (try? VolumeStore.validate(name: name)) != nil, engine.volumes.exists(name) else {
            throw APIError.notFound("get \(name): no such volume")
        }
        return try engine.volumes.load(name)
    }

    struct VolumeListResponse: Encodable {
        var Volumes: [VolumeResource]
        var Warnings: [String]
    }

    func listVolumes(_ call: Call) throws {
        let filters = try Self.parseFilters(call.query["filters"])
        let users = engine.volumeUsers()
        var result: [VolumeResource] = []
        for volume in engine.volumes.all() where try VolumeFilter.matches(volume, filters: filters, users: users[volume.name]?.count ?? 0) {
            result.append(volumeResource(volume))
        }
        call.responder.sendJSON(VolumeListResponse(Volumes: result, Warnings: []))
    }

    /// Creates the volume, or answers the existing one of that name (docker's rule).
    func createVolume(_ call: Call) throws {
        let body = try APIJSON.decode(VolumeCreateBody.self, from: call.request.body)
        let request = try body.validated()
        if let name = request.name {
            do { try VolumeStore.validate(name: name) } catch { throw APIError.badRequest("\(error)") }
        }
        let volume = try engine.createVolume(request.name, labels: request.labels)
        call.responder.sendJSON(volumeResource(volume), status: .created)
    }

    func inspectVolume(_ call: Call, _ name: String) throws {
        call.responder.sendJSON(volumeResource(try loadVolume(name)))
    }

    /// 204, 404 (none with `force`), 409 while a container uses it (even with `force`, as docker).
    func removeVolume(_ call: Call, _ name: String) throws {
        do {
            _ = try loadVolume(name)
        } catch let error as APIError where call.query.bool("force") && error.status == .notFound {
            return call.responder.send(status: .noContent, body: [])
        }
        try engine.removeVolume(name)
        call.responder.send(status: .noContent, body: [])
    }

    struct VolumePruneResponse: Encodable {
        var VolumesDeleted: [String]
        var SpaceReclaimed: Int64
    }

    /// Removes the volumes no container uses: anonymous ones only unless the `all` filter is
    /// true (docker's rule since API 1.42); `label` filters narrow it.
    func pruneVolumes(_ call: Call) throws {
        let filters = try Self.parseFilters(call.query["filters"])
        if let unknown = filters.keys.first(where: { !["label", "all"].contains($0) }) {
            throw APIError.badRequest("invalid filter '\(unknown)': skiff prunes volumes by label and all")
        }
        var all = false
        if let value = filters["all"]?.last {
            guard let flag = LabelFilter.bool(value) else { throw APIError.badRequest("invalid filter 'all=\(value)': use true or false") }
            all = flag
        }
        let users = engine.volumeUsers()
        var deleted: [String] = []
        var reclaimed: Int64 = 0
        for volume in engine.volumes.all() where (all || volume.anonymous) && (users[volume.name] ?? []).isEmpty {
            if let labels = filters["label"], !LabelFilter.all(labels, match: volume.labels ?? [:]) { continue }
            let size = engine.volumes.size(of: volume.name)
            do {
                try engine.removeVolume(volume.name)  // checks its users again under the store's lock
            } catch EngineError.volumeInUse {
                continue
            }
            deleted.append(volume.name)
            reclaimed += size
        }
        call.responder.sendJSON(VolumePruneResponse(VolumesDeleted: deleted, SpaceReclaimed: reclaimed))
    }
}

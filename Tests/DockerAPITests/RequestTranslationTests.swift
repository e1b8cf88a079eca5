@testable import DockerAPI
import Engine
import Networking
import Testing

/// What the API reads from requests before any engine call: versions, addresses, create bodies.
struct RequestTranslationTests {
    @Test func versionedPathsFromMinimumToCurrentAreServedAndOthersRefused() throws {
        #expect(try APIVersion.split("/v1.44/containers/json") == ("1.44", "/containers/json"))
        #expect(try APIVersion.split("/v1.24/version") == ("1.24", "/version"))
        #expect(try APIVersion.split("/containers/json") == (nil, "/containers/json"))
        #expect(try APIVersion.split("/v1.30/_ping").path == "/_ping")
        #expect(throws: APIError.self) { try APIVersion.split("/v1.45/version") }
        #expect(throws: APIError.self) { try APIVersion.split("/v1.23/version") }
        // 1.100 is above 1.44 as a version, below it as text.
        #expect(throws: APIError.self) { try APIVersion.split("/v1.100/version") }
    }

    @Test func tcpListensOnLoopbackOnly() throws {
        #expect(try ServiceAddress(parsing: "tcp://127.0.0.1:2375") == .tcp(host: "127.0.0.1", port: 2375))
        #expect(try ServiceAddress(parsing: "tcp://[::1]:2375") == .tcp(host: "::1", port: 2375))
        #expect(try ServiceAddress(parsing: "unix:///run/skiff/skiff.sock") == .unix(path: "/run/skiff/skiff.sock"))
        for refused in ["tcp://0.0.0.0:2375", "tcp://192.168.1.2:2375", "tcp://127.0.0.1", "unix://relative.sock", "http://127.0.0.1:1"] {
            #expect(throws: APIError.self, "\(refused)") { try ServiceAddress(parsing: refused) }
        }
    }

    @Test func queryStringsArePercentDecoded() {
        let query = Query("filters=%7B%22status%22%3A%5B%22running%22%5D%7D&all=1&name=a+b&v=true&force=0")
        #expect(query["filters"] == "{\"status\":[\"running\"]}")
        #expect(query.bool("all") && query.bool("v") && !query.bool("force") && !query.bool("absent"))
        #expect(query["name"] == "a b")
    }

    @Test func filtersInBothOfDockersForms() throws {
        #expect(try DockerService.parseFilters("{\"status\":[\"exited\",\"created\"]}") == ["status": ["exited", "created"]])
        #expect(try DockerService.parseFilters("{\"label\":{\"a=b\":true}}") == ["label": ["a=b"]])
        #expect(throws: APIError.self) { try DockerService.parseFilters("{\"status\":\"running\"}") }
        #expect(throws: APIError.self) { try DockerService.parseFilters("[") }
    }

    private func options(_ json: String, name: String? = nil) throws -> RunOptions {
        try APIJSON.decode(ContainerCreateBody.self, from: Array(json.utf8)).runOptions(name: name)
    }

    @Test func createBodyBecomesTheRunOptionsOfTheSameDockerRun() throws {
        let options = try options(
            """
            {"Image":"busybox","Cmd":["echo","hi"],"Env":["A=1"],"Tty":true,"OpenStdin":true,"WorkingDir":"/w","User":"1:2",
             "Labels":{"k":"v"},"Unknown":{"ignored":true},
             "HostConfig":{"Binds":["/h:/c:ro"],"PortBindings":{"80/tcp":[{"HostIp":"127.0.0.1","HostPort":"8080"}],"53/udp":[{"HostPort":""}]},
               "RestartPolicy":{"Name":"on-failure","MaximumRetryCount":3},"Memory":67108864,"NanoCpus":1500000000,"PidsLimit":64,
               "CapAdd":["NET_ADMIN"],"CapDrop":["MKNOD"],"ReadonlyRootfs":true,"Tmpfs":{"/run":"size=1m"},"AutoRemove":true,
               "NetworkMode":"none","Init":true}}
            """, name: "web")
        #expect(options.name == "web" && options.arguments == ["echo", "hi"] && options.entrypoint == nil)
        #expect(options.env == ["A=1"] && options.tty && options.interactive && options.workdir == "/w" && options.user == "1:2")
        #expect(options.labels == ["k": "v"] && options.volumes == ["/h:/c:ro"])
        #expect(
            options.ports
                == [
                    PortMapping(hostIP: "127.0.0.1", hostPort: 8080, containerPort: 80),
                    PortMapping(hostPort: 0, containerPort: 53, proto: "udp"),
                ].sorted { $0.containerPort < $1.containerPort })
        #expect(options.restart == (try RestartPolicy(parsing: "on-failure:3")))
        #expect(options.memory == 64 << 20 && options.cpus == 1.5 && options.pidsLimit == 64)
        #expect(options.capAdd == ["NET_ADMIN"] && options.capDrop == ["MKNOD"] && options.readOnly)
        #expect(options.tmpfs == ["/run:size=1m"] && options.autoRemove && options.network == .none && options.initProcess)
    }

    @Test func entrypointArraysLeadTheArguments() throws {
        let split = try options(#"{"Image":"b","Entrypoint":["sh","-c"],"Cmd":["echo hi"]}"#)
        #expect(split.entrypoint == "sh" && split.arguments == ["-c", "echo hi"])
        let cleared = try options(#"{"Image":"b","Entrypoint":[""],"Cmd":null}"#)
        #expect(cleared.entrypoint == "" && cleared.arguments == [])
        let oldClient = try options(#"{"Image":"b","Cmd":"true","HostConfig":{"NetworkMode":"default","PidsLimit":0,"Memory":0}}"#)
        #expect(
            oldClient.arguments == ["true"] && oldClient.network == RunOptions().network && oldClient.pidsLimit == nil
                && oldClient.memory == nil)
        #expect(throws: (any Error).self) { try options(#"{"Image":"b","Cmd":[1]}"#) }
        #expect(throws: (any Error).self) { try options(#"{"Image":"b","HostConfig":{"PortBindings":{"x/tcp":[{"HostPort":"1"}]}}}"#) }
    }

    @Test func mountsUlimitsLogConfigAndAliasesOfTheCreateBody() throws {
        let options = try options(
            """
            {"Image":"b","HostConfig":{"NetworkMode":"app","Mounts":[
               {"Type":"volume","Source":"data","Target":"/data"},
               {"Type":"bind","Source":"/srv","Target":"/srv","ReadOnly":true},
               {"Type":"bind","Source":"/mnt","Target":"/mnt","BindOptions":{"Propagation":"rslave"}},
               {"Type":"tmpfs","Target":"/scratch","TmpfsOptions":{"SizeBytes":1048576,"Mode":448}},
               {"Target":"/anon"}],
             "Ulimits":[{"Name":"nofile","Soft":100,"Hard":200},{"Name":"nproc","Soft":50}],
             "LogConfig":{"Type":"json-file","Config":{}},"VolumesFrom":["db:ro"]},
             "NetworkingConfig":{"EndpointsConfig":{"app":{"Aliases":["web","www"]},"other":{"Aliases":["o"]}}}}
            """)
        #expect(options.volumes == ["data:/data", "/srv:/srv:ro", "/mnt:/mnt:rslave", "/anon"])
        #expect(options.volumesFrom == ["db:ro"])
        // docker-py names a bound path in Config.Volumes too: the bind wins, no anonymous volume.
        let both = try self.options(#"{"Image":"b","Volumes":{"/v":{},"/w":{}},"HostConfig":{"Binds":["named:/v:rw"]}}"#)
        #expect(both.volumes == ["/w", "named:/v:rw"])
        #expect(options.tmpfs == ["/scratch:size=1048576,mode=700"])
        #expect(options.ulimits == ["nofile=100:200", "nproc=50"])
        #expect(options.networkAliases == ["web", "www"] && options.logConfig == .jsonFile)
        let rotating = try self.options(
            #"{"Image":"b","HostConfig":{"LogConfig":{"Type":"local","Config":{"max-size":"1m","max-file":"2"}}}}"#)
        #expect(rotating.logConfig.driver == .local && rotating.logConfig.maxFile == 2 && rotating.logConfig.maxSize != nil)
        let body = try APIJSON.decode(
            ContainerCreateBody.self,
            from: Array(#"{"NetworkingConfig":{"EndpointsConfig":{"app":{},"other":{"Aliases":["o"]},"default":null}}}"#.utf8))
        #expect(body.extraNetworks(besides: "app").map(\.name) == ["default", "other"])
        #expect(body.extraNetworks(besides: "bridge").map(\.name) == ["app", "other"])
        for refused in [
            #"{"HostConfig":{"LogConfig":{"Type":"syslog"}}}"#,
            #"{"HostConfig":{"LogConfig":{"Type":"json-file","Config":{"compress":"true"}}}}"#,
            #"{"HostConfig":{"Mounts":[{"Type":"volume","Source":"a,b","Target":"/x"}]}}"#,
            #"{"HostConfig":{"Mounts":[{"Type":"bind","Source":"relative","Target":"/x"}]}}"#,
            #"{"HostConfig":{"Mounts":[{"Type":"npipe","Source":"x","Target":"/x"}]}}"#,
            #"{"HostConfig":{"Mounts":[{"Type":"volume","Target":"/x","VolumeOptions":{"NoCopy":true}}]}}"#,
            #"{"HostConfig":{"Ulimits":[{"Soft":1}]}}"#,
            #"{"HostConfig":{"Mounts":[{"Type":"bind","Source":"/m","Target":"/m","BindOptions":{"Propagation":"sideways"}}]}}"#,
        ] {
            #expect(throws: (any Error).self, "\(refused)") { try self.options(refused) }
        }
    }

    private func network(_ json: String) throws -> (name: String, subnet: String?, gateway: String?, labels: [String: String]) {
        try APIJSON.decode(NetworkCreateBody.self, from: Array(json.utf8)).validated()
    }

    @Test func networkCreateBodiesSkiffCanAndCannotMake() throws {
        let plain = try network(#"{"Name":"n","CheckDuplicate":true,"Driver":"bridge","Options":{},"Internal":false,"Labels":{"a":"b"}}"#)
        #expect(plain.name == "n" && plain.subnet == nil && plain.labels == ["a": "b"])
        let ipam = try network(
            #"{"Name":"n","IPAM":{"Driver":"default","Config":[{"Subnet":"10.5.0.0/24","Gateway":"10.5.0.254"}],"Options":{}}}"#)
        #expect(ipam.subnet == "10.5.0.0/24" && ipam.gateway == "10.5.0.254")
        for refused in [
            #"{"Driver":"bridge"}"#, #"{"Name":"n","Driver":"overlay"}"#, #"{"Name":"n","Internal":true}"#,
            #"{"Name":"n","EnableIPv6":true}"#, #"{"Name":"n","Options":{"com.docker.network.bridge.name":"x"}}"#,
            #"{"Name":"n","IPAM":{"Config":[{"Subnet":"10.5.0.0/24"},{"Subnet":"10.6.0.0/24"}]}}"#,
            #"{"Name":"n","IPAM":{"Config":[{"Gateway":"10.5.0.1"}]}}"#, #"{"Name":"n","IPAM":{"Driver":"dhcp"}}"#,
        ] {
            #expect(throws: APIError.self, "\(refused)") { try self.network(refused) }
        }
    }

    @Test func networkAndVolumeFilters() throws {
        var definition = NetworkDefinition(
            name: "app_default", id: "abc123", subnet: "10.5.0.0/24", gateway: "10.5.0.1", bridge: "sk0", created: "")
        definition.labels = ["com.docker.compose.project": "app"]
        func network(_ filters: [String: [String]], users: Int = 0) throws -> Bool {
            try NetworkFilter.matches(definition, filters: filters, users: users)
        }
        #expect(try network(["label": ["com.docker.compose.project=app"]]) && network(["label": ["com.docker.compose.project"]]))
        #expect(try !network(["label": ["com.docker.compose.project=other"]]) && !network(["label": ["absent"]]))
        #expect(try network(["name": ["default"]]) && network(["id": ["abc"]]) && !network(["id": ["bc"]]))
        #expect(try network(["type": ["custom"]]) && !network(["type": ["builtin"]]) && network(["driver": ["bridge"]]))
        #expect(try network(["dangling": ["true"]]) && !network(["dangling": ["true"]], users: 1) && network(["dangling": ["0"]], users: 1))
        #expect(throws: NetworkError.self) { try network(["dangling": ["maybe"]]) }
        #expect(throws: NetworkError.self) { try network(["color": ["red"]]) }
        let volume = try APIJSON.decode(
            VolumeRecord.self, from: Array(#"{"name":"app_data","created":"","anonymous":false,"labels":{"k":"v"}}"#.utf8))
        #expect(try VolumeFilter.matches(volume, filters: ["name": ["data"], "label": ["k=v"], "driver": ["local"]], users: 0))
        #expect(try !VolumeFilter.matches(volume, filters: ["dangling": ["false"]], users: 0))
        #expect(throws: APIError.self) { try VolumeFilter.matches(volume, filters: ["scope": ["local"]], users: 0) }
        #expect(throws: APIError.self) {
            try APIJSON.decode(VolumeCreateBody.self, from: Array(#"{"Name":"v","DriverOpts":{"type":"nfs"}}"#.utf8)).validated()
        }
    }
}

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
}

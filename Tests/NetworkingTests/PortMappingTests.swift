import Networking
import Testing

@Suite struct PortMappingTests {
    @Test func dockerForms() throws {
        #expect(try PortMapping(parsing: "8080:80") == PortMapping(hostPort: 8080, containerPort: 80))
        #expect(try PortMapping(parsing: "80") == PortMapping(hostPort: 0, containerPort: 80))
        #expect(try PortMapping(parsing: "53:53/udp") == PortMapping(hostPort: 53, containerPort: 53, proto: "udp"))
        #expect(try PortMapping(parsing: "127.0.0.1:8080:80") == PortMapping(hostIP: "127.0.0.1", hostPort: 8080, containerPort: 80))
        #expect(try PortMapping(parsing: "127.0.0.1::80/tcp") == PortMapping(hostIP: "127.0.0.1", hostPort: 0, containerPort: 80))
        #expect(try PortMapping(parsing: "0.0.0.0:8080:80") == PortMapping(hostPort: 8080, containerPort: 80))
        #expect(try PortMapping(parsing: "8080:80").description == "0.0.0.0:8080->80/tcp")
    }

    @Test func badSpecsAreRefused() {
        for text in ["", "abc", "0:80", "70000:80", "80/sctp", "1:2:3:4", "8000-8010:80", "localhost:80:80", "80:", "80-82"] {
            #expect(throws: NetworkError.self, "\(text)") { try PortMapping(parsing: text) }
        }
    }

    @Test func publishAllAddsTheImagesExposedPortsNotYetPublished() throws {
        let published = [PortMapping(hostPort: 8080, containerPort: 80)]
        let all = try PortMapping.publishingAll(exposed: ["80/tcp", "53/udp", "9000"], published: published)
        #expect(
            all == [
                PortMapping(hostPort: 8080, containerPort: 80), PortMapping(hostPort: 0, containerPort: 53, proto: "udp"),
                PortMapping(hostPort: 0, containerPort: 9000),
            ])
        #expect(throws: NetworkError.self) { try PortMapping.publishingAll(exposed: ["1:2"], published: []) }
    }

    @Test func rangesExpandAsDockerDoes() throws {
        #expect(
            try PortMapping.parseAll("8000-8002:80-82/udp") == [
                PortMapping(hostPort: 8000, containerPort: 80, proto: "udp"), PortMapping(hostPort: 8001, containerPort: 81, proto: "udp"),
                PortMapping(hostPort: 8002, containerPort: 82, proto: "udp"),
            ])
        #expect(
            try PortMapping.parseAll("127.0.0.1::90-91") == [
                PortMapping(hostIP: "127.0.0.1", hostPort: 0, containerPort: 90),
                PortMapping(hostIP: "127.0.0.1", hostPort: 0, containerPort: 91),
            ])
        let chosen = try PortMapping.parseAll("8000-8010:80")
        #expect(chosen == [PortMapping(hostPort: 8000, hostPortEnd: 8010, containerPort: 80)])
        #expect(chosen[0].description == "0.0.0.0:8000-8010->80/tcp")
        #expect(try PortMapping.parseAll("8080:80") == [PortMapping(hostPort: 8080, containerPort: 80)])
        for text in ["8000-8001:80-82", "82-80", "1-2000", "80-", "-80", "1-2-3:80"] {
            #expect(throws: NetworkError.self, "\(text)") { try PortMapping.parseAll(text) }
        }
    }

    @Test func aHostRangeTakesItsFirstFreePort() throws {
        // Two free ports next to each other: the first is taken by the first reservation.
        let probe = try PortReservation.reserve([PortMapping(hostIP: "127.0.0.1", hostPort: 0, containerPort: 1)])
        let base = probe.mappings[0].hostPort
        probe.release()
        guard base < 65534 else { return }
        let range = PortMapping(hostIP: "127.0.0.1", hostPort: base, hostPortEnd: base + 1, containerPort: 80)
        let first = try PortReservation.reserve([range])
        defer { first.release() }
        #expect(first.mappings[0].hostPortEnd == nil)
        #expect([base, base + 1].contains(first.mappings[0].hostPort))
        let second = try? PortReservation.reserve([range])
        defer { second?.release() }
        if let second {
            #expect(second.mappings[0].hostPort != first.mappings[0].hostPort)
            #expect(throws: NetworkError.self) { try PortReservation.reserve([range]) }
        }
    }
}

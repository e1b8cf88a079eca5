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
        for text in ["", "abc", "0:80", "70000:80", "80/sctp", "1:2:3:4", "8000-8010:80", "localhost:80:80", "80:"] {
            #expect(throws: NetworkError.self, "\(text)") { try PortMapping(parsing: text) }
        }
    }

    @Test func publishAllAddsTheImagesExposedPortsNotYetPublished() throws {
        let published = [PortMapping(hostPort: 8080, containerPort: 80)]
        let all = try PortMapping.publishingAll(exposed: ["80/tcp", "53/udp", "9000"], published: published)
        #expect(all == [PortMapping(hostPort: 8080, containerPort: 80), PortMapping(hostPort: 0, containerPort: 53, proto: "udp"),
                        PortMapping(hostPort: 0, containerPort: 9000)])
        #expect(throws: NetworkError.self) { try PortMapping.publishingAll(exposed: ["1:2"], published: []) }
    }
}

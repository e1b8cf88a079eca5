@testable import DockerAPI
import Engine
import LinuxSupport
import OCISpec
import Registry
import Testing

/// The pure parts of the responses: docker's shapes built from what the engine and the kernel give.
struct ResponseShapeTests {
    @Test func topSplitsPsColumnsAndKeepsTheCommandsSpaces() {
        let top = TopResponse(psLines: [
            "UID          PID    PPID  C STIME TTY          TIME CMD",
            "root        4242    4200  0 10:00 ?        00:00:00 sleep 300",
            "root        4243    4242  0 10:00 pts/0    00:00:00 sh -c  echo  'a b'",
        ])
        #expect(top.Titles == ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"])
        #expect(top.Processes[0] == ["root", "4242", "4200", "0", "10:00", "?", "00:00:00", "sleep 300"])
        #expect(top.Processes[1].last == "sh -c  echo  'a b'" && top.Processes[1].count == 8)
        #expect(TopResponse(psLines: []).Processes.isEmpty)
    }

    @Test func systemCPUTimeAndInterfaceCountersFromProc() {
        let stat = "cpu  100 5 50 1000 20 0 3 0 0 0\ncpu0 50 2 25 500 10 0 1 0 0 0\nintr 1\n"
        // (100+5+50+1000+20+0+3+0) ticks of 10 ms.
        #expect(StatsResponse.systemCPUNanoseconds(procStat: stat, ticksPerSecond: 100) == 1178 * 10_000_000)
        #expect(StatsResponse.systemCPUNanoseconds(procStat: "intr 1\n", ticksPerSecond: 100) == nil)
        let netDev = """
            Inter-|   Receive                                                |  Transmit
             face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
                lo:     100       1    0    0    0     0          0         0      100       1    0    0    0     0       0          0
              eth0:    2048      16    1    2    0     0          0         0     1024       8    3    4    0     0       0          0
            """
        let networks = StatsResponse.networks(procNetDev: netDev)
        #expect(networks.keys.sorted() == ["eth0"])
        #expect(
            networks["eth0"]
                == .init(
                    rx_bytes: 2048, rx_packets: 16, rx_errors: 1, rx_dropped: 2, tx_bytes: 1024, tx_packets: 8, tx_errors: 3, tx_dropped: 4)
        )
    }

    @Test func pathStatModesAreGosFileModes() throws {
        #expect(PathStatHeader.goFileMode(0o040755) == 1 << 31 | 0o755)
        #expect(PathStatHeader.goFileMode(0o100644) == 0o644)
        #expect(PathStatHeader.goFileMode(0o120777) == 1 << 27 | 0o777)
        #expect(PathStatHeader.goFileMode(0o104755) == 1 << 23 | 0o755)
        #expect(PathStatHeader.goFileMode(0o020666) == 1 << 26 | 1 << 21 | 0o666)
        let header = PathStatHeader(
            Engine.PathStat(name: "f", size: 3, mode: 0o100600, modifiedSeconds: 0, modifiedNanoseconds: 0, linkTarget: ""))
        let decoded = try #require(Base64.decode(header.headerValue))
        #expect(
            String(decoding: decoded, as: UTF8.self)
                == #"{"name":"f","size":3,"mode":384,"mtime":"1970-01-01T00:00:00.000000000Z","linkTarget":""}"#)
    }

    @Test func base64RoundTripsInBothAlphabets() {
        for text in ["", "f", "fo", "foo", "foob", "fooba", "foobar", "{\"username\":\"u\"}"] {
            #expect(Base64.decode(Base64.encode(Array(text.utf8))) == Array(text.utf8))
        }
        #expect(Base64.encode(Array("foobar".utf8)) == "Zm9vYmFy" && Base64.encode(Array("fo".utf8)) == "Zm8=")
        #expect(Base64.decode("-_8") == [0xfb, 0xff] && Base64.decode("+/8=") == [0xfb, 0xff])
        #expect(Base64.decode("a b") == nil)
    }

    @Test func registryAuthHeaderCarriesCredentialsOrNothing() throws {
        let header = Base64.encode(Array(#"{"username":"u","password":"p","serveraddress":"127.0.0.1:5000"}"#.utf8))
        #expect(try AuthConfigBody.fromHeader(header)?.credentials == Credentials(username: "u", password: "p"))
        let auth = Base64.encode(Array(#"{"auth":"dTpwOnE="}"#.utf8))  // u:p:q
        #expect(try AuthConfigBody.fromHeader(auth)?.credentials == Credentials(username: "u", password: "p:q"))
        #expect(try AuthConfigBody.fromHeader("e30=")?.credentials == nil)  // {}
        #expect(try AuthConfigBody.fromHeader(nil) == nil)
        #expect(throws: APIError.self) { try AuthConfigBody.fromHeader("not base64!") }
        #expect(AuthConfigBody.registryHost("https://index.docker.io/v1/") == "docker.io")
        #expect(AuthConfigBody.registryHost("127.0.0.1:5000") == "127.0.0.1:5000")
    }

    @Test func historyIsNewestFirstWithLayerSizes() {
        let history = [
            History(created: "2024-01-01T00:00:00Z", createdBy: "ADD rootfs", comment: nil, emptyLayer: nil),
            History(created: "2024-01-02T00:00:00Z", createdBy: "CMD [\"sh\"]", comment: nil, emptyLayer: true),
            History(created: "2024-01-03T00:00:00Z", createdBy: "RUN make", comment: "c", emptyLayer: false),
        ]
        let entries = HistoryEntry.entries(history: history, layerSizes: [100, 20], id: "sha256:abc", tags: ["app:1"])
        #expect(entries.map(\.Size) == [20, 0, 100])
        #expect(entries.map(\.Id) == ["sha256:abc", "<missing>", "<missing>"] && entries[0].Tags == ["app:1"] && entries[1].Tags == nil)
        #expect(entries[0].CreatedBy == "RUN make" && entries[0].Comment == "c" && entries[2].Created == 1_704_067_200)
        #expect(HistoryEntry.entries(history: [], layerSizes: [5], id: "sha256:x", tags: []).map(\.Size) == [5])
    }
}

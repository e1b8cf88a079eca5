import Engine
import Testing

/// `-u user[:group]` against an image's /etc/passwd and /etc/group.
@Suite struct UserResolutionTests {
    let passwd = """
        root:x:0:0:root:/root:/bin/sh
        # a comment
        daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
        app:x:1000:1001:App:/home/app:/bin/sh
        broken line
        """
    let group = """
        root:x:0:
        appgrp:x:1001:
        audio:x:29:app,other
        video:x:44:other
        staff:x:50:app
        """

    @Test func emptyMeansRootWithItsHome() throws {
        #expect(
            try UserResolution.resolve("", passwd: passwd, group: group) == ResolvedUser(uid: 0, gid: 0, additionalGids: [], home: "/root"))
        #expect(try UserResolution.resolve("", passwd: nil, group: nil) == ResolvedUser(uid: 0, gid: 0, additionalGids: [], home: "/root"))
    }

    @Test func nameGivesUidPrimaryGroupHomeAndMemberships() throws {
        #expect(
            try UserResolution.resolve("app", passwd: passwd, group: group)
                == ResolvedUser(uid: 1000, gid: 1001, additionalGids: [29, 50], home: "/home/app"))
    }

    @Test func numericUserKnownOrNot() throws {
        #expect(try UserResolution.resolve("1000", passwd: passwd, group: group).gid == 1001)
        #expect(
            try UserResolution.resolve("4242", passwd: passwd, group: group)
                == ResolvedUser(uid: 4242, gid: 0, additionalGids: [], home: "/"))
    }

    @Test func explicitGroupByNameOrNumberDropsMemberships() throws {
        #expect(
            try UserResolution.resolve("app:video", passwd: passwd, group: group)
                == ResolvedUser(uid: 1000, gid: 44, additionalGids: [], home: "/home/app"))
        #expect(try UserResolution.resolve("app:7", passwd: passwd, group: group).gid == 7)
        #expect(
            try UserResolution.resolve("99:99", passwd: nil, group: nil) == ResolvedUser(uid: 99, gid: 99, additionalGids: [], home: "/"))
    }

    @Test func unknownNamesAreErrors() {
        #expect(throws: EngineError.self) { try UserResolution.resolve("nobody", passwd: passwd, group: group) }
        #expect(throws: EngineError.self) { try UserResolution.resolve("app:nogroup", passwd: passwd, group: group) }
        #expect(throws: EngineError.self) { try UserResolution.resolve("app", passwd: nil, group: nil) }
    }
}

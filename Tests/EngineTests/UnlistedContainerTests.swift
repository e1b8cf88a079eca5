import Engine
import LinuxSupport
import Testing

/// What `ps -a` shows for a container directory without a usable record.
struct UnlistedContainerTests {
    let id = String(repeating: "b3", count: 32)

    @Test func anIncompleteContainerOfADeadCreatorNamesTheCommandThatRemovesIt() {
        let entry = UnlistedContainer(id: id, problem: .incomplete(creator: ProcessLease(pid: 1, startTime: 2), creatorAlive: false))
        #expect(entry.status == "Created (incomplete: its create was killed)")
        #expect(entry.explanation.contains("`skiff rm -f \(id.prefix(12))`"))
    }

    @Test func aCreateUnderWayIsShownAsSuch() {
        let entry = UnlistedContainer(id: id, problem: .incomplete(creator: ProcessLease(pid: 42, startTime: 2), creatorAlive: true))
        #expect(entry.status == "Creating")
        #expect(entry.explanation == "container \(id.prefix(12)) is being created by process 42")
    }

    @Test func aDamagedRecordSaysWhyAndWhatToDo() {
        let entry = UnlistedContainer(id: id, problem: .damaged(reason: "container.json is unreadable (unexpected end)"))
        #expect(entry.status == "Damaged (container.json unreadable)")
        #expect(
            entry.explanation
                == "container \(id.prefix(12)) is damaged: container.json is unreadable (unexpected end); `skiff rm -f \(id.prefix(12))` stops and removes it"
        )
    }
}

import Testing
@testable import VMM

@Suite struct BoundedQueueTests {
    @Test func keepsOrderAcrossTheWrapAndRefusesWhenFull() {
        var queue = BoundedQueue<Int>(capacity: 3)
        let appended = [queue.append(1), queue.append(2), queue.append(3), queue.append(4)]
        #expect(appended == [true, true, true, false])
        #expect(queue.isFull && queue.count == 3)
        let first = queue.popFirst()
        #expect(first == 1)
        let wrapped = queue.append(5)
        #expect(wrapped)
        let drained = [queue.popFirst(), queue.popFirst(), queue.popFirst(), queue.popFirst()]
        #expect(drained == [2, 3, 5, nil])
        #expect(queue.isEmpty)
        queue.append(7)
        queue.removeAll()
        let afterRemoval = queue.popFirst()
        #expect(afterRemoval == nil)
    }
}

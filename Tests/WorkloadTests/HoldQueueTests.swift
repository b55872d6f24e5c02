import EVCore
@testable import Workloads
import XCTest

final class HoldQueueTests: XCTestCase {
    private func held(_ line: String, at t: Micros, deadline: Micros) -> HoldQueue.Held {
        HoldQueue.Held(line: line, receivedAt: t, request: nil, reason: .startRecord, deadline: deadline)
    }

    func testMessagesLeaveInArrivalOrderAndExpireByDeadline() {
        var q = HoldQueue()
        XCTAssertTrue(q.hold(held("a", at: 0, deadline: 500)))
        XCTAssertTrue(q.hold(held("b", at: 1, deadline: 300)))
        XCTAssertTrue(q.hold(held("c", at: 2, deadline: 900)))
        XCTAssertEqual(q.nextDeadline, 300)
        XCTAssertEqual(q.takeExpired(now: 499).map(\.line), ["b"])
        XCTAssertEqual(q.nextDeadline, 500)
        XCTAssertEqual(q.takeAll().map(\.line), ["a", "c"])
        XCTAssertTrue(q.isEmpty)
        XCTAssertNil(q.nextDeadline)
    }

    func testTheQueueIsBoundedInCountAndBytes() {
        var q = HoldQueue()
        for i in 0..<HoldQueue.maxCount { XCTAssertTrue(q.hold(held("x", at: Micros(i), deadline: 1))) }
        XCTAssertFalse(q.hold(held("x", at: 0, deadline: 1)), "full by count")
        _ = q.takeExpired(now: 1)
        let big = String(repeating: "y", count: HoldQueue.maxBytes / 2)
        XCTAssertTrue(q.hold(held(big, at: 0, deadline: 1)))
        XCTAssertTrue(q.hold(held(big, at: 0, deadline: 1)))
        XCTAssertFalse(q.hold(held("z", at: 0, deadline: 1)), "full by bytes")
        _ = q.takeExpired(now: 1)
        XCTAssertTrue(q.hold(held("z", at: 0, deadline: 1)), "expired ones free their bytes")
    }
}

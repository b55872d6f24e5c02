import EVCheckers
import EVCore
@testable import EVReports
import XCTest

/// timeline.html labels a box with the completed operation, as Jepsen's timeline does, so a
/// reader sees what a read returned without hovering.
final class TimelineLabelTests: XCTestCase {
    private func op(_ f: String, _ value: JSONValue, _ outcome: Outcome?) -> EVCheckers.Operation {
        var o = EVCheckers.Operation(process: 0, worker: 0, node: "n0", client: "c1", f: f, value: value, invokedAt: 0)
        o.outcome = outcome
        o.completedAt = outcome == nil ? nil : 5
        return o
    }

    func testLabelsShowTheAnswer() {
        XCTAssertEqual(Timeline.answer(op("read", [1, nil], .ok([1, 3]))), "read 1 → 3")
        XCTAssertEqual(Timeline.answer(op("read", [1, nil], .ok([1, nil]))), "read 1 → null")
        XCTAssertEqual(Timeline.answer(op("cas", [2, [2, 4]], .fail("error 22: current value 3 is not 2"))), "cas 2 2→4 fail 22")
        XCTAssertEqual(Timeline.answer(op("write", [1, 5], .ok([1, 5]))), "write 1 5")
        XCTAssertEqual(Timeline.answer(op("add", 3, .info("net-timeout"))), "add 3 ?")
        XCTAssertEqual(Timeline.answer(op("read", nil, .ok([1, 2]))), "read → [1,2]", "a broadcast read")
        XCTAssertEqual(Timeline.answer(op("txn", [["r", 1, nil], ["w", 2, 5]], .ok([["r", 1, [4]], ["w", 2, 5]]))), "txn [r 1 [4]] [w 2 5]")
        XCTAssertEqual(Timeline.answer(op("txn", [["append", 1, 3]], .fail("error 11: no leader"))), "txn [append 1 3] fail 11")
        XCTAssertEqual(Timeline.answer(op("echo", "x", nil)), #"echo "x" ?"#, "never completed")
    }
}

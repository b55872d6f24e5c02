import EVCore
@testable import EVCheckers
import XCTest

/// The g-counter checker on hand-built histories (broken counters through the harness and
/// challenge 4: EVSimTests/GCounterHarnessTests).
final class GCounterCheckerTests: XCTestCase {
    // MARK: hand-built histories

    private var clock: Micros = 0

    private func op(_ f: String, _ value: JSONValue, _ outcome: Outcome, node: String = "n0", final: Bool = false) -> EVCheckers.Operation {
        clock += 1000
        var o = EVCheckers.Operation(process: 0, worker: 0, node: node, client: "c1", f: f, value: value, invokedAt: clock, isFinal: final)
        o.completedAt = clock + 10
        o.outcome = outcome
        return o
    }

    private func add(_ d: Int, _ outcome: Outcome = .ok(.null)) -> EVCheckers.Operation { op("add", .int(d), outcome) }
    private func finalRead(_ v: Int, node: String = "n0") -> EVCheckers.Operation { op("read", .null, .ok(.int(v)), node: node, final: true) }

    func testExactFinalReadsAreValid() {
        let h = [add(3), add(4), op("read", .null, .ok(2)), add(0), finalRead(7), finalRead(7, node: "n1")]
        let r = GCounterChecker.check(h)
        XCTAssertEqual(r.validity, .valid)
        XCTAssertEqual(r.details["acceptable"], [[7, 7]])
        XCTAssertEqual(r.details["final-reads"], [7, 7])
    }

    func testAFinalReadMissingAnAcknowledgedAddIsInvalid() {
        let h = [add(3), add(4), finalRead(7), finalRead(3, node: "n1")]
        let r = GCounterChecker.check(h)
        XCTAssertEqual(r.validity, .invalid)
        XCTAssertEqual(r.details["errors"]?.array?.count, 1)
        XCTAssertEqual(r.details["errors"]?[0]?["node"], "n1")
    }

    func testUnknownAddsMayCountAnySubsetAndFailedAddsNothing() {
        let base = [add(10), add(2, .info("net-timeout")), add(3, .info("error 13: crash")), add(100, .fail("error 11"))]
        XCTAssertEqual(GCounterChecker.check(base + [finalRead(10)]).details["acceptable"], [[10, 10], [12, 13], [15, 15]])
        for good in [10, 12, 13, 15] {
            XCTAssertEqual(GCounterChecker.check(base + [finalRead(good)]).validity, .valid, "\(good)")
        }
        for bad in [9, 11, 14, 16, 110, 115] {
            XCTAssertEqual(GCounterChecker.check(base + [finalRead(bad)]).validity, .invalid, "\(bad)")
        }
    }

    func testOnlyFinalReadsCountAndNoneMeansUnknown() {
        XCTAssertEqual(GCounterChecker.check([add(5), op("read", .null, .ok(999))]).validity, .unknown)
        XCTAssertEqual(GCounterChecker.check([add(5), op("read", .null, .ok(999)), finalRead(5)]).validity, .valid)
        XCTAssertEqual(GCounterChecker.check([add(5), op("read", .null, .info("net-timeout"), final: true)]).validity, .unknown)
    }

    func testSubsetSumsWithNegativeDeltas() {
        XCTAssertEqual(GCounterChecker.subsetSums([]), [0...0])
        XCTAssertEqual(GCounterChecker.subsetSums([-2, 3]), [-2...(-2), 0...1, 3...3])
        XCTAssertEqual(GCounterChecker.subsetSums([1, 1, 1, 0]), [0...3])
    }
}

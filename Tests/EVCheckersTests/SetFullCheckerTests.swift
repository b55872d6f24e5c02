import EVCore
@testable import EVCheckers
import XCTest

/// The set-full checker (reference §9.3) on hand-built histories. Times are given in ms; the
/// histories carry no event indices, so the checker orders by time.
final class SetFullCheckerTests: XCTestCase {
    private var history: [EVCheckers.Operation] = []

    private func op(_ f: String, _ value: JSONValue, invoke: Int64, complete: Int64?, _ outcome: Outcome?) {
        var o = EVCheckers.Operation(process: history.count, worker: 0, node: "n0", client: "c1", f: f, value: value,
                                invokedAt: .ms(invoke))
        o.completedAt = complete.map { .ms($0) }
        o.outcome = outcome
        history.append(o)
    }

    private func add(_ v: Int, _ invoke: Int64, _ complete: Int64, ok: Bool = true) {
        op("broadcast", .int(v), invoke: invoke, complete: complete, ok ? .ok(.int(v)) : .info("net-timeout"))
    }

    private func read(_ values: [Int], _ invoke: Int64, _ complete: Int64) {
        op("read", .null, invoke: invoke, complete: complete, .ok(.array(values.map { .int($0) })))
    }

    private func element(_ a: SetFullChecker.Analysis, _ v: Int) -> SetFullChecker.Element {
        a.elements.first { $0.value == v }!
    }

    func testValueSeenByEveryLaterReadIsStableWithZeroLatency() {
        add(0, 0, 10)
        read([0], 20, 21)
        read([0], 30, 31)
        let a = SetFullChecker.analyze(history)
        XCTAssertEqual(element(a, 0).outcome, .stable)
        XCTAssertEqual(element(a, 0).stableLatency, 0)
        XCTAssertEqual(a.result.validity, .valid)
        XCTAssertEqual(a.result.details["stable-count"], 1)
        XCTAssertEqual(a.result.details["stale-count"], 0)
        XCTAssertEqual(a.result.details["stable-latencies"], ["0": 0, "0.5": 0, "0.95": 0, "0.99": 0, "1": 0])
    }

    func testAcknowledgedValueMissingFromTheLastReadsIsLost() {
        add(0, 0, 10)
        add(1, 0, 10)
        read([0, 1], 20, 21)
        read([1], 30, 31) // a final read without 0: 0 is lost
        let a = SetFullChecker.analyze(history)
        XCTAssertEqual(element(a, 0).outcome, .lost)
        XCTAssertEqual(element(a, 1).outcome, .stable)
        XCTAssertEqual(a.result.validity, .invalid)
        XCTAssertEqual(a.result.details["lost-count"], 1)
        XCTAssertEqual(a.result.details["lost"], [0])
    }

    func testAcknowledgedValueNeverReadAfterwardsIsLostNotNeverRead() {
        // Reads after the ack that never contain it: known, absent later, never present.
        add(5, 0, 10)
        read([], 20, 21)
        let a = SetFullChecker.analyze(history)
        XCTAssertEqual(element(a, 5).outcome, .lost)
        XCTAssertEqual(a.result.validity, .invalid)
    }

    func testLateAppearanceIsStaleWithLatencyFromKnownToLastAbsentRead() {
        add(7, 0, 100)          // known at 100 ms
        read([], 150, 151)      // absent
        read([], 400, 401)      // absent, invoked 300 ms after known: the last absent read
        read([7], 600, 601)
        read([7], 700, 701)
        let a = SetFullChecker.analyze(history)
        XCTAssertEqual(element(a, 7).outcome, .stable)
        XCTAssertEqual(element(a, 7).stableLatencyMS, 300)
        XCTAssertEqual(a.result.details["stale-count"], 1)
        XCTAssertEqual(a.result.details["stale"], [7])
        XCTAssertEqual(a.result.details["stable-latencies"]?["1"], 300)
        XCTAssertEqual(a.result.details["worst-stale"]?[0]?["element"], 7)
        XCTAssertEqual(a.result.validity, .valid)
    }

    func testAbsentReadInvokedBeforeKnownTimeGivesZeroLatency() {
        add(3, 0, 100)
        read([], 50, 120)   // invoked before the ack completed: clamp to 0
        read([3], 130, 131)
        let a = SetFullChecker.analyze(history)
        XCTAssertEqual(element(a, 3).outcome, .stable)
        XCTAssertEqual(element(a, 3).stableLatency, 0)
        XCTAssertEqual(a.result.details["stale-count"], 0)
    }

    func testReadThatCompletedBeforeTheAddWasInvokedDoesNotCountAsAbsent() {
        read([], 0, 5)
        add(9, 10, 20)
        read([9], 30, 31)
        let a = SetFullChecker.analyze(history)
        XCTAssertEqual(element(a, 9).outcome, .stable)
        XCTAssertNil(element(a, 9).lastAbsentTime)
    }

    func testUnreadAndFailedValuesAreNeverRead() {
        add(0, 0, 10)
        read([0], 20, 21)
        add(1, 30, 40)                   // acknowledged after the last read started: never read
        add(2, 30, 5030, ok: false)      // timed out, nobody saw it: an attempt only
        let a = SetFullChecker.analyze(history)
        XCTAssertEqual(element(a, 1).outcome, .neverRead)
        XCTAssertEqual(element(a, 2).outcome, .neverRead)
        XCTAssertEqual(a.result.details["attempt-count"], 3)
        XCTAssertEqual(a.result.details["never-read-count"], 2)
        XCTAssertEqual(a.result.details["never-read"], [1, 2])
        XCTAssertEqual(a.result.validity, .valid)
    }

    func testValueFromTimedOutBroadcastBecomesKnownThroughARead() {
        add(4, 0, 5000, ok: false)
        read([4], 100, 101)   // known at 101 ms through the read
        read([], 200, 201)    // absent again afterwards…
        read([4], 300, 301)   // …then present for good: stable, latency 200 − 101
        let a = SetFullChecker.analyze(history)
        XCTAssertEqual(element(a, 4).knownTime, .ms(101))
        XCTAssertEqual(element(a, 4).outcome, .stable)
        XCTAssertEqual(element(a, 4).stableLatencyMS, 99)
    }

    func testQuantilesIndexTheSortedLatenciesAtFloorOfNTimesQ() {
        // Ten values with stable latencies 0, 100, …, 900 ms: known at 0, last absent read at 100·i.
        for i in 0..<10 { add(i, 0, 0) }
        for i in 1..<10 { read(Array(0..<i), Int64(100 * i), Int64(100 * i + 1)) }
        read(Array(0..<10), 2000, 2001)
        let a = SetFullChecker.analyze(history)
        XCTAssertEqual(a.elements.compactMap(\.stableLatencyMS).sorted(), [0, 100, 200, 300, 400, 500, 600, 700, 800, 900])
        // n = 10: q 0.5 → index 5 (500, not a midpoint); 0.95 → index 9; 1 → clamped to index 9.
        XCTAssertEqual(a.result.details["stable-latencies"], ["0": 0, "0.5": 500, "0.95": 900, "0.99": 900, "1": 900])
        XCTAssertEqual(quantile([10, 20, 30], 0.5), 20)
        XCTAssertEqual(quantile([10, 20, 30, 40], 0.5), 30)
        XCTAssertEqual(quantile([10, 20, 30, 40], 0.99), 40)
        XCTAssertNil(quantile([], 0.5))
    }

    func testDuplicateInOneReadIsInvalid() {
        add(0, 0, 10)
        read([0, 0], 20, 21)
        let a = SetFullChecker.analyze(history)
        XCTAssertEqual(a.result.details["duplicated-count"], 1)
        XCTAssertEqual(a.result.details["duplicated"], ["0": 2])
        XCTAssertEqual(a.result.validity, .invalid)
    }

    func testValueNobodyBroadcastIsInvalid() {
        add(0, 0, 10)
        read([0, 42], 20, 21)
        let a = SetFullChecker.analyze(history)
        XCTAssertEqual(a.result.details["unexpected"], [42])
        XCTAssertEqual(a.result.validity, .invalid)
    }

    func testNothingStableIsUnknown() {
        add(0, 0, 10)
        XCTAssertEqual(SetFullChecker.check(history).validity, .unknown)
    }

    func testFailedReadsAreIgnored() {
        add(0, 0, 10)
        read([0], 20, 21)
        op("read", .null, invoke: 30, complete: 5030, .fail("net-timeout"))
        XCTAssertEqual(SetFullChecker.check(history).validity, .valid)
    }

    func testEventIndicesTakePrecedenceOverEqualTimes() {
        // Same instant: the read was invoked (index 2) after the ack completed (index 1), so the
        // value was known when the read began and its absence there makes it lost.
        add(0, 0, 10)
        read([], 10, 10)
        history[0].invokeIndex = 0
        history[0].completeIndex = 1
        history[1].invokeIndex = 2
        history[1].completeIndex = 3
        XCTAssertEqual(element(SetFullChecker.analyze(history), 0).outcome, .lost)
        // Reversed order at the same instant: the read began first, so it proves nothing.
        history[1].invokeIndex = 0
        history[1].completeIndex = 3
        history[0].invokeIndex = 1
        history[0].completeIndex = 2
        XCTAssertEqual(element(SetFullChecker.analyze(history), 0).outcome, .neverRead)
    }
}

import EVCore
import EVCheckers
import XCTest

/// The kafka checker on hand-built histories, one per error type (broken logs through the
/// harness: EVSimTests/KafkaHarnessTests).
final class KafkaCheckerTests: XCTestCase {
    // MARK: hand-built histories

    private var clock: Micros = 0

    private func op(_ f: String, _ value: JSONValue, _ outcome: Outcome, process: Int = 0, final: Bool = false) -> EVCheckers.Operation {
        clock += 1000
        var o = EVCheckers.Operation(process: process, worker: process, node: "n0", client: "c\(process)", f: f, value: value,
                                invokedAt: clock, isFinal: final)
        o.completedAt = clock + 10
        o.outcome = outcome
        return o
    }

    private func send(_ key: String, _ msg: Int, _ offset: Int?, process: Int = 0, outcome: Outcome? = nil) -> EVCheckers.Operation {
        let value: JSONValue = ["key": .string(key), "msg": .int(msg)]
        let ok: Outcome = .ok(["key": .string(key), "msg": .int(msg), "offset": offset.map(JSONValue.int) ?? .null])
        return op("send", value, outcome ?? ok, process: process)
    }

    private func poll(_ msgs: [(String, [(Int, Int)])], committed: Bool = true, process: Int = 0) -> EVCheckers.Operation {
        let m: JSONValue = .object(msgs.map { key, pairs in (key, .array(pairs.map { [.int($0.0), .int($0.1)] })) })
        var value: [(String, JSONValue)] = [("offsets", [:]), ("msgs", m)]
        if committed {
            value.append(("committed", .object(msgs.compactMap { key, pairs in pairs.map(\.0).max().map { (key, .int($0)) } })))
        }
        return op("poll", .null, .ok(.object(value)), process: process)
    }

    private func assign(_ keys: [String], listed: [(String, Int)], process: Int = 0) -> EVCheckers.Operation {
        let k: JSONValue = .array(keys.map { .string($0) })
        return op("assign", ["keys": k], .ok(["keys": k, "offsets": .object(listed.map { ($0.0, .int($0.1)) })]), process: process)
    }

    private func errors(_ h: [EVCheckers.Operation]) -> [String] {
        KafkaChecker.check(h).details["error-types"]?.array?.compactMap(\.string) ?? []
    }

    func testCleanHistoryIsValid() {
        let h = [send("a", 1, 0), send("a", 2, 1), send("b", 7, 0, process: 1),
                 assign(["a", "b"], listed: []), poll([("a", [(0, 1), (1, 2)]), ("b", [(0, 7)])]),
                 assign(["a"], listed: [("a", 1)], process: 1), poll([("a", [(1, 2)])], process: 1)]
        let r = KafkaChecker.check(h)
        XCTAssertEqual(r.validity, .valid, "\(r.details)")
        XCTAssertEqual(r.details["send-count"], 3)
    }

    func testAcknowledgedButNeverPolledSendIsUnseenAndLostWhenLaterOffsetsWerePolled() {
        let h = [send("a", 1, 0), send("a", 2, 1), send("a", 3, 2), poll([("a", [(0, 1), (2, 3)])])]
        let found = errors(h)
        XCTAssertTrue(found.contains("unseen"))
        XCTAssertTrue(found.contains("lost-write"))
        XCTAssertTrue(found.contains("int-poll-skip"), "offset 1 was known to hold a message")
        XCTAssertEqual(errors([send("a", 1, 0), send("a", 2, 1), poll([("a", [(0, 1)])])]), ["unseen"],
                       "a send after the highest polled offset is unseen, not lost")
    }

    func testReusedOffsetIsInconsistentAndDuplicate() {
        XCTAssertEqual(errors([send("a", 1, 0), send("a", 2, 0, process: 1), poll([("a", [(0, 1)])])]),
                       ["inconsistent-offsets", "lost-write", "unseen"])
        XCTAssertEqual(errors([send("a", 1, 0), poll([("a", [(0, 1), (1, 1)])])]), ["duplicate"])
    }

    func testPollsThatSkipOrGoBackAreCaught() {
        let sends = [send("a", 1, 0), send("a", 2, 1), send("a", 3, 2), send("a", 4, 3)]
        XCTAssertEqual(errors(sends + [poll([("a", [(0, 1), (1, 2)])]), poll([("a", [(3, 4)])]), poll([("a", [(2, 3)])], process: 1)]),
                       ["poll-skip"])
        XCTAssertEqual(errors(sends + [poll([("a", [(0, 1), (1, 2)])]), poll([("a", [(1, 2), (2, 3), (3, 4)])])]),
                       ["nonmonotonic-poll"])
        XCTAssertEqual(errors(sends + [poll([("a", [(0, 1), (1, 2), (1, 2), (2, 3), (3, 4)])])]),
                       ["int-nonmonotonic-poll"])
        XCTAssertEqual(errors(sends + [poll([("a", [(0, 1), (1, 2), (3, 4)])]), poll([("a", [(2, 3)])], process: 1)]),
                       ["int-poll-skip"])
        // An assign in between resets the tracking: seeking back is allowed then.
        XCTAssertEqual(errors(sends + [poll([("a", [(0, 1), (1, 2), (2, 3), (3, 4)])]), assign(["a"], listed: [("a", 3)]),
                                       poll([("a", [(0, 1)])])]), [])
    }

    func testSendsOfOneProcessMustGetIncreasingOffsets() {
        XCTAssertEqual(errors([send("a", 1, 1), send("a", 2, 0), poll([("a", [(0, 2), (1, 1)])])]), ["nonmonotonic-send"])
        XCTAssertEqual(errors([send("a", 1, 1), send("a", 2, 0, process: 1), poll([("a", [(0, 2), (1, 1)])])]), [],
                       "different processes may interleave")
    }

    func testPollingADefinitelyFailedSendIsG1a() {
        let h = [send("a", 1, nil, outcome: .fail("error 11: unavailable")), send("a", 2, 0), poll([("a", [(0, 2), (1, 1)])])]
        XCTAssertEqual(errors(h), ["G1a"])
        let unknown = [send("a", 1, nil, outcome: .info("net-timeout")), send("a", 2, 0), poll([("a", [(0, 2), (1, 1)])])]
        XCTAssertEqual(errors(unknown), [], "an indefinite send may well have happened")
    }

    func testCommittedOffsetsGoingBackwardsAreCaught() {
        let base = [send("a", 1, 0), send("a", 2, 1), poll([("a", [(0, 1), (1, 2)])])] // commits a → 1
        XCTAssertEqual(errors(base + [assign(["a"], listed: [("a", 1)], process: 1)]), [])
        XCTAssertEqual(errors(base + [assign(["a"], listed: [("a", 0)], process: 1)]), ["committed-offset-regression"])
        XCTAssertEqual(errors(base + [assign(["a"], listed: [], process: 1)]), ["committed-offset-regression"],
                       "forgetting a committed key is going backwards too")
        // A list after a list must not go back either (no commit in between).
        XCTAssertEqual(errors([assign(["b"], listed: [("b", 5)]), assign(["b"], listed: [("b", 4)], process: 1)]),
                       ["committed-offset-regression"])
        // Overlapping in time is not "before": a commit still in flight may be missed.
        var late = poll([("a", [(0, 1), (1, 2)])])
        late.completedAt = clock + 5_000
        var list = assign(["a"], listed: [], process: 1)
        list.invokedAt = late.invokedAt + 1
        XCTAssertEqual(errors([send("a", 1, 0), send("a", 2, 1), late, list]), [])
    }
}

import EVSimCore
import EVCheckers
import EVCore
@testable import EVSim
import Workloads
import XCTest

/// The kafka checker on hand-built histories (one per error type) and on deliberately broken
/// logs run through the real harness and client model.
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

    // MARK: broken logs through the harness

    /// A single-node kafka written for these tests, with one deliberate bug.
    final class BrokenKafka: MessageHandler {
        enum Bug { case none, dropsEvery50thSend, reusesAnOffsetEvery50thSend, keepsOnlyTheFirstCommit, pollSkipsOffsetOne }
        let bug: Bug
        var logs: [String: [Int]] = [:]
        var committed: [String: Int] = [:]
        var sends = 0
        init(_ bug: Bug) { self.bug = bug }
        func nodeDidInit(_ node: Node) {}

        func handle(_ m: Message, node: Node) {
            guard let req = m.request else { return }
            switch m.type {
            case "send":
                let key = m.body["key"].string ?? "", msg = m.body["msg"].int ?? 0
                sends += 1
                var offset: Int
                if sends % 50 == 0 && bug == .dropsEvery50thSend {
                    offset = 100_000 + sends // acknowledged, never stored
                } else if sends % 50 == 0 && bug == .reusesAnOffsetEvery50thSend && !(logs[key]?.isEmpty ?? true) {
                    offset = logs[key]!.count - 1
                    logs[key]![offset] = msg // overwrites an acknowledged message
                } else {
                    logs[key, default: []].append(msg)
                    offset = logs[key]!.count - 1
                }
                node.reply(to: req) { w in w.field("type", "send_ok"); w.field("offset", offset) }
            case "poll":
                var wanted: [(String, Int)] = []
                m.body["offsets"].forEachMember { k, v in wanted.append((k, v.int ?? 0)) }
                let logs = self.logs, bug = self.bug
                node.reply(to: req) { w in
                    w.field("type", "poll_ok")
                    w.objectField("msgs") { o in
                        for (k, from) in wanted {
                            guard let log = logs[k], from < log.count else { continue }
                            o.arrayField(k) { a in
                                for i in from..<log.count where !(bug == .pollSkipsOffsetOne && i == 1 && from == 0) {
                                    a.arrayElement { e in e.element(i); e.element(log[i]) }
                                }
                            }
                        }
                    }
                }
            case "commit_offsets":
                m.body["offsets"].forEachMember { k, v in
                    let o = v.int ?? 0
                    if bug == .keepsOnlyTheFirstCommit && committed[k] != nil { return } // acknowledged, ignored
                    committed[k] = max(committed[k] ?? -1, o)
                }
                node.reply(to: req, type: "commit_offsets_ok")
            default: // list_committed_offsets
                var keys: [String] = []
                m.body["keys"].forEachElement { if let k = $0.string { keys.append(k) } }
                let committed = self.committed
                node.reply(to: req) { w in
                    w.field("type", "list_committed_offsets_ok")
                    w.objectField("offsets") { o in for k in keys { if let c = committed[k] { o.field(k, c) } } }
                }
            }
        }
    }

    private func run5a(_ bug: BrokenKafka.Bug) -> TestResult {
        var spec = Challenge.kafka5a.spec
        spec.timeLimit = 5
        spec.handlerFactory = { _ in BrokenKafka(bug) }
        return Runner(spec: spec).run()
    }

    func testTheTestKafkaWithoutBugsIsValid() {
        let r = run5a(.none)
        XCTAssertEqual(r.validity, .valid, "\(r.results["workload"]!)")
    }

    func testDroppedSendsAreCaught() {
        let found = run5a(.dropsEvery50thSend).results["workload"]?["error-types"]?.array ?? []
        XCTAssertTrue(found.contains("unseen"), "\(found)")
    }

    func testReusedOffsetsAreCaught() {
        let found = run5a(.reusesAnOffsetEvery50thSend).results["workload"]?["error-types"]?.array ?? []
        XCTAssertTrue(found.contains("inconsistent-offsets"), "\(found)")
        XCTAssertTrue(found.contains("unseen"), "the overwritten message is gone")
    }

    func testRegressingCommitsAreCaught() {
        // Later commits are acknowledged but not kept: a list then reports less than was committed.
        let found = run5a(.keepsOnlyTheFirstCommit).results["workload"]?["error-types"]?.array ?? []
        XCTAssertTrue(found.contains("committed-offset-regression"), "\(found)")
    }

    func testSkippingPollsAreCaught() {
        let found = run5a(.pollSkipsOffsetOne).results["workload"]?["error-types"]?.array ?? []
        XCTAssertTrue(found.contains("int-poll-skip"), "\(found)")
    }
}

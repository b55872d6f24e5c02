import EVCheckers
import EVCore
@testable import EVSim
import Workloads
import XCTest

/// Deliberately broken logs run through the real harness and client model: the kafka checker
/// catches each bug. The checker on hand-built histories: EVCheckersTests/KafkaCheckerTests.
final class KafkaHarnessTests: XCTestCase {
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

import EVCore
import EVReports
@testable import EVSim
import Workloads
import XCTest

/// Challenges 5a–5c against evnode in the Maelstrom-faithful runner, over several seeds. Message
/// counts and latencies are virtual-time figures, deterministic per seed, so they are asserted.
final class KafkaChallengeTests: XCTestCase {
    struct Figures {
        let result: TestResult
        let linKVRequests: Int
        var workload: JSONValue { result.results["workload"]! }
        var serversMsgsPerOp: Double {
            if case .double(let d)? = result.results["net"]?["servers"]?["msgs-per-op"] { return d }
            return .nan
        }
        func latency(_ f: String, _ q: String) -> Int? { workload["latencies-us"]?[f]?[q]?.int }
        /// Polls that returned at least one message (each also committed).
        var pollsWithMessages: Int {
            result.history.filter { $0.f == "poll" && ($0.outcome?.okValue?["msgs"]?.members?.isEmpty == false) }.count
        }
    }

    private func run(_ challenge: Challenge, seed: UInt64, adjust: (inout TestSpec) -> Void = { _ in }) -> Figures {
        var spec = challenge.spec
        spec.seed = seed
        adjust(&spec)
        let runner = Runner(spec: spec)
        var result = runner.run()
        result.goals = challenge.goals.map { $0.evaluate(result.results) }
        return Figures(result: result, linKVRequests: runner.cluster.linKV.requests)
    }

    private func assertValid(_ f: Figures, _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(f.result.validity, .valid, "\(label): \(ResultFormat.edn(f.result.results, elide: 8))", file: file, line: line)
        XCTAssertTrue(f.result.passed, "\(label): goals \(f.result.failedGoals.map(\.goal.description))", file: file, line: line)
        XCTAssertEqual(f.result.results["availability"]?["ok-fraction"], .double(1), label, file: file, line: line)
        XCTAssertEqual(f.workload["error-types"], [], label, file: file, line: line)
        // The run really exercised the log: thousands of sends and of polls that returned messages,
        // hundreds of keys, every final poll caught up.
        XCTAssertGreaterThan(f.workload["send-count"]?.int ?? 0, 8_000, label, file: file, line: line)
        XCTAssertGreaterThan(f.pollsWithMessages, 1_000, label, file: file, line: line)
        XCTAssertGreaterThan(f.workload["key-count"]?.int ?? 0, 400, label, file: file, line: line)
        XCTAssertLessThanOrEqual(f.linKVRequests, 4, "\(label): no lin-kv but the workload registry", file: file, line: line)
    }

    func testCommandsAreThoseOfTheChallengePages() {
        XCTAssertEqual(Challenge.gCounter4.maelstromCommand,
                       "maelstrom test -w g-counter --bin BIN --node-count 3 --time-limit 20 --rate 100 --nemesis partition")
        XCTAssertEqual(Challenge.kafka5a.maelstromCommand,
                       "maelstrom test -w kafka --bin BIN --node-count 1 --concurrency 2n --time-limit 20 --rate 1000")
        XCTAssertEqual(Challenge.kafka5b.maelstromCommand,
                       "maelstrom test -w kafka --bin BIN --node-count 2 --concurrency 2n --time-limit 20 --rate 1000")
        XCTAssertEqual(Challenge.kafka5c.maelstromCommand, Challenge.kafka5b.maelstromCommand)
        XCTAssertEqual(Challenges.all.map(\.name).filter { ["4", "5a", "5b", "5c"].contains($0) }, ["4", "5a", "5b", "5c"])
    }

    func testChallenge5aSingleNode() {
        for seed in UInt64(1)...2 {
            let f = run(.kafka5a, seed: seed)
            assertValid(f, "5a seed \(seed)")
            XCTAssertLessThanOrEqual(f.serversMsgsPerOp, 0.0002, "one node: nothing to coordinate but the workload registry")
        }
    }

    /// 5b and 5c are the same command; 5c's goal is the message budget (≤ 1.0 servers msgs-per-op).
    /// Start skew off: the zero-latency figures below are the instant start's (a node stalled
    /// after init, or a slow lin-kv reply, delays a few operations by up to 200 ms; evsim all and
    /// StartSkewTests run 5c with the skew).
    func testChallenges5bAnd5cTwoNodesWithinBudget() {
        var worst = 0.0
        for seed in UInt64(1)...3 {
            let f = run(.kafka5c, seed: seed) { $0.startSkew = .off }
            assertValid(f, "5c seed \(seed)")
            worst = max(worst, f.serversMsgsPerOp)
            // Forwarding half the sends costs ~0.5 per op; replication and lists the rest.
            XCTAssertGreaterThan(f.serversMsgsPerOp, 0.45)
            XCTAssertLessThan(f.serversMsgsPerOp, 0.6)
            // Zero network latency: every operation completes at once in virtual time.
            XCTAssertEqual(f.latency("send", "1"), 0)
            XCTAssertEqual(f.latency("poll", "1"), 0)
        }
        let short: (inout TestSpec) -> Void = { $0.timeLimit = 3 }
        XCTAssertEqual(run(.kafka5b, seed: 9, adjust: short).result.traceHash, run(.kafka5c, seed: 9, adjust: short).result.traceHash,
                       "5b and 5c are the same command: the same run")
        print("5c over 3 seeds: worst servers msgs-per-op \(worst)")
    }

    /// With 100 ms between nodes (not the challenge setting, but where latency shows). Maelstrom's
    /// delivery thread sleeps on each 100 ms peer message, and client requests queue behind it
    /// (reference §5.3), so even locally served polls wait up to one latency; sends to the other
    /// node's keys add one forward round trip. Closed-loop clients then complete far fewer
    /// operations, so the per-op message figure is not comparable with the challenge's.
    func testLatencyWithSlowNetwork() {
        let f = run(.kafka5c, seed: 1) { $0.latencyMS = 100 }
        XCTAssertEqual(f.result.validity, .valid, ResultFormat.edn(f.result.results, elide: 8))
        XCTAssertEqual(f.result.results["availability"]?["ok-fraction"], .double(1))
        let sendMedian = f.latency("send", "0.5")!, send99 = f.latency("send", "0.99")!
        let pollMedian = f.latency("poll", "0.5")!, poll99 = f.latency("poll", "0.99")!
        print("5c --latency 100: send p50 \(sendMedian / 1000) ms p99 \(send99 / 1000) ms; poll p50 \(pollMedian / 1000) ms " +
              "p99 \(poll99 / 1000) ms; ops \(f.result.history.count), servers msgs-per-op \(f.serversMsgsPerOp)")
        XCTAssertLessThanOrEqual(sendMedian, 100_000 + 200_000, "queueing plus at most one forward round trip")
        XCTAssertLessThanOrEqual(send99, 100_000 + 200_000 + 100_000)
        XCTAssertLessThanOrEqual(pollMedian, 100_000, "local replica: only the delivery queue's wait")
        XCTAssertLessThanOrEqual(poll99, 200_000, "poll and its commit, each at most one queue wait")
    }

    /// The real node with a broken forwarding path: the owner acknowledges forwarded sends with
    /// offset 0 without storing them. The checker sees the reused offset and the missing messages.
    func testRealNodeWithBrokenForwardingIsCaught() {
        final class BrokenOwner: MessageHandler {
            let router = Router()
            func nodeDidInit(_ node: Node) { router.nodeDidInit(node) }
            func handle(_ message: Message, node: Node) {
                guard message.type == "kf_send", let req = message.request else { return router.handle(message, node: node) }
                node.reply(to: req) { w in w.field("type", "kf_send_ok"); w.field("offset", 0) }
            }
        }
        let f = run(.kafka5c, seed: 1) { spec in
            spec.timeLimit = 5
            spec.handlerFactory = { _ in BrokenOwner() }
        }
        XCTAssertEqual(f.result.validity, .invalid)
        let found = f.workload["error-types"]?.array?.compactMap(\.string) ?? []
        XCTAssertTrue(found.contains("inconsistent-offsets"), "\(found)")
        XCTAssertTrue(found.contains("unseen"), "\(found)")
    }
}

import EVCheckers
import EVCore
import EVReports
import EVSim
import EVSimCore
import Workloads
import XCTest

/// The lin-kv model without evnode's node: its generator alone, and the challenges' harness
/// against two injected nodes, one linearizable by construction and one serving stale reads.
final class LinKVModelTests: XCTestCase {
    /// Relays every read, write and cas to the simulator's lin-kv service (never partitioned):
    /// one linearizable authority, 2 server messages per op.
    final class ForwardingNode: MessageHandler {
        func nodeDidInit(_ node: Node) {}

        func handle(_ message: Message, node: Node) {
            guard let req = message.request, let key = message.body["key"].value else { return }
            let type = message.type
            let kv = KVClient(node: node, service: KVClient.linKV)
            let relay = { (result: KVResult) in
                switch result {
                case .ok(let value):
                    node.reply(to: req) { w in
                        w.field("type", type + "_ok")
                        if type == "read" { w.field("value", value ?? .null) }
                    }
                case .error(let code, let text): node.replyError(to: req, code: code, text: text)
                case .timeout: node.replyError(to: req, code: .crash, text: "lin-kv did not answer")
                }
            }
            switch type {
            case "read": kv.read(key, relay)
            case "write": kv.write(key, message.body["value"].value ?? .null, relay)
            case "cas": kv.cas(key, from: message.body["from"].value ?? .null, to: message.body["to"].value ?? .null, relay)
            default: break
            }
        }
    }

    /// Writes and cas go to lin-kv, but reads are answered from a local cache that only this
    /// node's own updates and a refresh every 500 ms bring up to date: stale reads.
    final class StaleCacheNode: MessageHandler {
        private var cache: [JSONValue: JSONValue] = [:]
        private var keys = Set<JSONValue>()

        func nodeDidInit(_ node: Node) {
            _ = node.every(.ms(500)) { [weak self, unowned node] in
                guard let self else { return }
                let kv = KVClient(node: node, service: KVClient.linKV)
                for key in keys {
                    kv.read(key) { [weak self] r in if case .ok(let v?) = r { self?.cache[key] = v } }
                }
            }
        }

        func handle(_ message: Message, node: Node) {
            guard let req = message.request, let key = message.body["key"].value else { return }
            keys.insert(key)
            let kv = KVClient(node: node, service: KVClient.linKV)
            let reply = { [weak self] (result: KVResult, stored: JSONValue, type: String) in
                switch result {
                case .ok:
                    self?.cache[key] = stored
                    node.reply(to: req, type: type)
                case .error(let code, let text): node.replyError(to: req, code: code, text: text)
                case .timeout: node.replyError(to: req, code: .crash, text: "lin-kv did not answer")
                }
            }
            switch message.type {
            case "read":
                guard let value = cache[key] else { return node.replyError(to: req, code: .keyDoesNotExist, text: "not cached") }
                node.reply(to: req) { w in
                    w.field("type", "read_ok")
                    w.field("value", value)
                }
            case "write":
                let value = message.body["value"].value ?? .null
                kv.write(key, value) { reply($0, value, "write_ok") }
            case "cas":
                let to = message.body["to"].value ?? .null
                kv.cas(key, from: message.body["from"].value ?? .null, to: to) { reply($0, to, "cas_ok") }
            default: break
            }
        }
    }

    private func run(_ challenge: Challenge, seed: UInt64, seconds: Double? = nil,
                     node: @escaping () -> MessageHandler) -> (result: TestResult, wall: Double) {
        let start = Date()
        let result = challenge.run(seed: seed) { spec in
            spec.handlerFactory = { _ in node() }
            if let seconds { spec.timeLimit = seconds }
        }
        return (result, Date().timeIntervalSince(start))
    }

    private func figures(_ r: TestResult, wall: Double) -> String {
        "valid?=\(r.validity.json) ok-fraction=\(r.results["availability"]?["ok-fraction"] ?? .null) "
            + "answered-fraction=\(r.results["workload"]?["answered-fraction"] ?? .null) "
            + "servers-msgs-per-op=\(r.results["net"]?["servers"]?["msgs-per-op"] ?? .null) ops=\(r.history.count) "
            + String(format: "wall=%.2fs", wall)
    }

    // MARK: generator

    func testGroupsOf2nWorkersShareAKeyAndOnlyTheFirstNRead() {
        let model = LinKVModel(nodeCount: 3)
        var rng = SimRandom(seed: 7)
        var mix: [String: Int] = [:]
        // Group 1 asks first, so it gets key 0.
        for worker in [6, 0] + Array(0..<12) + Array(0..<12) {
            let (f, value) = model.nextOperation(worker: worker, rng: &rng)
            let args = value.array ?? []
            XCTAssertEqual(args.first, .int(worker < 6 ? 1 : 0), "worker \(worker)")
            XCTAssertEqual(f == "read", worker % 6 < 3, "worker \(worker): \(f)")
            mix[f, default: 0] += 1
            switch f {
            case "read": XCTAssertEqual(args.last, .null)
            case "write": XCTAssertTrue((0...4).contains(args[1].int ?? -1))
            default: XCTAssertTrue(args[1].array?.allSatisfy { (0...4).contains($0.int ?? -1) } ?? false, "\(value)")
            }
        }
        XCTAssertEqual(mix["read"], 14)
        XCTAssertEqual(model.currentKey(worker: 11), 0)
        XCTAssertEqual(model.currentKey(worker: 12), nil, "a third group has not started")
    }

    func testWritesAndCasAreOneToTwoWithValuesZeroToFour() {
        let model = LinKVModel(nodeCount: 3)
        var rng = SimRandom(seed: 3)
        var counts: [String: Int] = [:]
        var values = Set<Int>()
        for _ in 0..<3000 {
            let (f, value) = model.nextOperation(worker: 4, rng: &rng)
            counts[f, default: 0] += 1
            let arg = value.array?[1]
            values.formUnion((arg?.array ?? [arg ?? .null]).compactMap(\.int))
        }
        XCTAssertEqual(counts["read"], nil)
        XCTAssertEqual(Double(counts["cas"] ?? 0) / Double(counts["write"] ?? 1), 2, accuracy: 0.2)
        XCTAssertEqual(values, [0, 1, 2, 3, 4])
    }

    /// Six workers start with six processes; the 15th :info makes 21 processes, and the group's
    /// next operation is on a fresh key.
    func testAGroupMovesToAFreshKeyAfterUsingTwentyProcesses() {
        let model = LinKVModel(nodeCount: 3)
        var rng = SimRandom(seed: 1)
        _ = model.nextOperation(worker: 0, rng: &rng)
        _ = model.nextOperation(worker: 6, rng: &rng)
        func timeOut(worker: Int) {
            let (f, value) = model.nextOperation(worker: worker, rng: &rng)
            var outcome: Outcome?
            model.execute(f: f, value: value, worker: worker, call: { _, reply in reply(nil) }, complete: { outcome = $0 })
            guard case .info? = outcome else { return XCTFail("a timeout must be :info, even for a read: \(String(describing: outcome))") }
        }
        for i in 0..<14 { timeOut(worker: i % 6) }
        XCTAssertEqual(model.currentKey(worker: 5), 0, "20 processes: still key 0")
        timeOut(worker: 2)
        XCTAssertEqual(model.currentKey(worker: 5), 0, "the 21st process shows at the next request")
        XCTAssertEqual(model.nextOperation(worker: 3, rng: &rng).value.array?.first, .int(2))
        XCTAssertEqual(model.currentKey(worker: 0), 2)
        XCTAssertEqual(model.currentKey(worker: 6), 1, "the other group keeps its key")
    }

    func testRepliesAreClassifiedLikeMaelstromsLinKVClient() {
        let model = LinKVModel(nodeCount: 1)
        func outcome(_ f: String, _ value: JSONValue, _ reply: JSONValue?) -> Outcome? {
            var result: Outcome?
            model.execute(f: f, value: value, worker: 0, call: { _, answer in answer(reply) }, complete: { result = $0 })
            return result
        }
        func error(_ code: Int) -> JSONValue { ["type": "error", "in_reply_to": 1, "code": .int(code), "text": "x"] }
        XCTAssertEqual(outcome("read", [3, nil], ["type": "read_ok", "in_reply_to": 1, "value": 4]), .ok([3, 4]))
        XCTAssertEqual(outcome("read", [3, nil], error(20)), .ok([3, nil]), "a missing key reads as null")
        XCTAssertEqual(outcome("read", [3, nil], error(11)), .fail("error 11: x"))
        XCTAssertEqual(outcome("read", [3, nil], error(13)), .info("error 13: x"))
        XCTAssertEqual(outcome("write", [3, 1], ["type": "write_ok", "in_reply_to": 1]), .ok([3, 1]))
        XCTAssertEqual(outcome("write", [3, 1], nil), .info("net-timeout"))
        XCTAssertEqual(outcome("cas", [3, [1, 2]], ["type": "cas_ok", "in_reply_to": 1]), .ok([3, [1, 2]]))
        XCTAssertEqual(outcome("cas", [3, [1, 2]], error(22)), .fail("error 22: x"))
        XCTAssertEqual(outcome("cas", [3, [1, 2]], error(14)), .info("error 14: x"), "not one of lin-kv's definite codes")
        guard case .info(let why)? = outcome("cas", [3, [1, 2]], ["type": "cas_ok", "in_reply_to": 1, "extra": 1]) else {
            return XCTFail("a malformed cas_ok is :info")
        }
        XCTAssertTrue(why.hasPrefix("malformed-response"), why)
    }

    // MARK: runs

    func testForwardingNodeIsLinearizableUnderPartitions() {
        let (r, wall) = run(.linKV3, seed: 1) { ForwardingNode() }
        print("lin-kv forwarding node, seed 1: \(figures(r, wall: wall))")
        XCTAssertEqual(r.validity, .valid, "\(r.results["workload"] ?? .null)")
        XCTAssertTrue(r.passed, "\(r.failedGoals.map(\.goal.description))")
        XCTAssertFalse(r.nemesisEvents.isEmpty)
        XCTAssertEqual(r.results["workload"]?["answered-fraction"], .double(1))
        XCTAssertEqual(r.results["net"]?["servers"]?["msgs-per-op"], .double(2))
        // Over a minute at 30 ops/s: reads, writes and cas about 3 : 1 : 2.
        let counts = Dictionary(grouping: r.history, by: \.f).mapValues(\.count)
        XCTAssertEqual(Double(counts["read"] ?? 0) / Double(r.history.count), 0.5, accuracy: 0.05)
        XCTAssertEqual(Double(counts["cas"] ?? 0) / Double(counts["write"] ?? 1), 2, accuracy: 0.3)
    }

    func testForwardingNodePassesTheOtherChallenges() {
        for challenge in [Challenge.linKVNoFault, .linKVStress, .linKV5] {
            let (r, wall) = run(challenge, seed: 2) { ForwardingNode() }
            print("\(challenge.name) forwarding node, seed 2: \(figures(r, wall: wall))")
            XCTAssertEqual(r.validity, .valid, challenge.name)
            XCTAssertTrue(r.passed, "\(challenge.name): \(r.failedGoals.map(\.goal.description))")
        }
    }

    func testStaleCacheNodeIsNotLinearizable() throws {
        for seed: UInt64 in 1...3 {
            let (r, wall) = run(.linKVNoFault, seed: seed, seconds: 20) { StaleCacheNode() }
            print("lin-kv-nofault stale-cache node, seed \(seed): \(figures(r, wall: wall))")
            XCTAssertEqual(r.validity, .invalid, "seed \(seed)")
            let failures = r.results["workload"]?["failures"]?.array ?? []
            let explanation = try XCTUnwrap(failures.first?["explanation"]?.string, "seed \(seed)")
            XCTAssertTrue(explanation.contains("no linearization gets past"), explanation)
            if seed == 1 { print(explanation) }
            let summary = Summary.text(r, challenge: .linKVNoFault, replayCommand: "evsim lin-kv-nofault --seed \(seed)",
                                       wallSeconds: nil, elide: 12)
            XCTAssertTrue(summary.contains(explanation), "summary.txt must explain the failure")
            XCTAssertTrue(summary.contains("Replay: evsim lin-kv-nofault --seed \(seed)"))
        }
    }

    func testChallengeCommands() {
        XCTAssertEqual(Challenge.linKV3.maelstromCommand,
                       "maelstrom test -w lin-kv --bin BIN --node-count 3 --concurrency 4n --time-limit 60 --rate 30 --nemesis partition")
        XCTAssertEqual(Challenge.linKVStress.maelstromCommand,
                       "maelstrom test -w lin-kv --bin BIN --node-count 3 --concurrency 10n --time-limit 60 --rate 100 --nemesis partition --nemesis-interval 3")
        XCTAssertEqual(Challenge.linKV5.spec.nodeCount, 5)
        XCTAssertFalse(Challenge.linKVNoFault.maelstromCommand.contains("--nemesis"))
        XCTAssertEqual(Challenge.linKV3.spec.clientTimeout, .ms(1000))
    }
}

import EVCheckers
import EVCore
import EVSim
import EVSimCore
import Workloads
import XCTest

/// The txn-list-append model without evnode's node: its generator and client alone, and the
/// challenges' harness against two injected nodes, one with a single authority (serializable by
/// construction) and one where every node keeps its own lists.
final class ListAppendModelTests: XCTestCase {
    /// Executes transactions on an in-memory map of lists. With `forward`, every node but the
    /// first relays its transactions to the first (one node RPC, answered with the filled txn), so
    /// one node runs them all in order; without, each node runs its own and nothing replicates.
    final class ListNode: MessageHandler {
        private let forward: Bool
        private var lists: [JSONValue: [JSONValue]] = [:]

        init(forward: Bool) { self.forward = forward }

        func nodeDidInit(_ node: Node) {}

        func handle(_ message: Message, node: Node) {
            guard message.type == "txn", let req = message.request, let txn = message.body["txn"].value else { return }
            let answer = { (filled: JSONValue) in
                node.reply(to: req) { w in
                    w.field("type", "txn_ok")
                    w.field("txn", filled)
                }
            }
            let authority = node.nodeIDs[0]
            guard forward, node.id != authority else { return answer(execute(txn)) }
            node.rpc(to: authority, timeout: .ms(1000), { w in
                w.field("type", "txn")
                w.field("txn", txn)
            }) { result in
                switch result {
                case .ok(let reply): answer(reply.body["txn"].value ?? .null)
                case .error(let code, let text): node.replyError(to: req, code: code, text: text)
                case .timeout: node.replyError(to: req, code: .crash, text: "\(authority) did not answer")
                }
            }
        }

        private func execute(_ txn: JSONValue) -> JSONValue {
            .array((txn.array ?? []).map { op in
                guard let f = op[0], let key = op[1] else { return op }
                if f == "append" {
                    lists[key, default: []].append(op[2] ?? .null)
                    return op
                }
                return [f, key, lists[key].map { .array($0) } ?? .null]
            })
        }
    }

    /// A challenge run with `node` on every node.
    private func run(_ challenge: Challenge, seed: UInt64, node: @escaping () -> MessageHandler) -> TestResult {
        challenge.run(seed: seed) { spec in spec.handlerFactory = { _ in node() } }
    }

    /// The txn-list-append challenge with nodes that never replicate.
    private func runLocalOnly(seed: UInt64) -> TestResult {
        run(.txnListAppend, seed: seed) { ListNode(forward: false) }
    }

    /// Two :ok reads of one key, by transactions on different nodes, where neither list is a
    /// prefix of the other: no single order of appends explains both.
    static func divergentReads(_ history: [EVCheckers.Operation]) -> (key: JSONValue, reads: [(node: String, list: [JSONValue])])? {
        var reads: [JSONValue: [(node: String, list: [JSONValue])]] = [:]
        for op in history {
            for mop in op.outcome?.okValue?.array ?? [] where mop[0] == "r" {
                guard let key = mop[1], let list = mop[2]?.array else { continue }
                for seen in reads[key, default: []] where seen.node != op.node {
                    if !seen.list.starts(with: list) && !list.starts(with: seen.list) { return (key, [seen, (op.node, list)]) }
                }
                reads[key, default: []].append((op.node, list))
            }
        }
        return nil
    }

    // MARK: generator

    func testGeneratorFollowsEllesListAppendGenerator() {
        let model = ListAppendModel()
        var rng = SimRandom(seed: 5)
        var appends: [JSONValue: Int] = [:]
        var lengths = Set<Int>()
        var mix: [String: Int] = [:]
        var retired = Set<Int>()
        var highest = 9
        XCTAssertEqual(model.activeKeys, Array(0...9))
        for _ in 0..<5000 {
            let before = model.activeKeys
            let (f, value) = model.nextOperation(worker: 0, rng: &rng)
            XCTAssertEqual(f, "txn")
            let txn = value.array ?? []
            lengths.insert(txn.count)
            for mop in txn {
                let name = mop[0]?.string ?? "?", key = mop[1] ?? .null
                mix[name, default: 0] += 1
                XCTAssertFalse(retired.contains(key.int ?? -1), "retired key \(key) used again")
                switch name {
                case "r": XCTAssertEqual(mop[2], .null)
                case "append":
                    appends[key, default: 0] += 1
                    XCTAssertEqual(mop[2], .int(appends[key]!), "values are 1, 2, 3, … per key")
                default: XCTFail("unexpected micro-op \(mop.text)")
                }
            }
            // A key leaves the pool only after 16 appends, for one larger than any before.
            let left = Set(before).subtracting(model.activeKeys), joined = Set(model.activeKeys).subtracting(before)
            XCTAssertEqual(left.count, joined.count)
            for key in left { XCTAssertEqual(appends[.int(key)], 16, "key \(key) retired early") }
            for key in joined.sorted() {
                XCTAssertEqual(key, highest + 1)
                highest = key
            }
            retired.formUnion(left)
            XCTAssertEqual(model.activeKeys.count, 10)
        }
        XCTAssertEqual(lengths, [1, 2, 3, 4])
        XCTAssertTrue(appends.values.allSatisfy { $0 <= 16 })
        XCTAssertGreaterThan(retired.count, 300, "about 6,250 appends retire about 390 keys")
        let total = Double(mix.values.reduce(0, +))
        XCTAssertEqual(total / 5000, 2.5, accuracy: 0.05, "lengths uniform in 1…4")
        XCTAssertEqual(Double(mix["r"] ?? 0) / total, 0.5, accuracy: 0.02, "reads and appends equally likely")
    }

    // MARK: client

    func testRepliesAreClassifiedLikeMaelstromsTxnClient() {
        let model = ListAppendModel()
        let txn: JSONValue = [["r", 1, nil], ["append", 1, 3], ["r", 2, nil]]
        func outcome(_ reply: JSONValue?) -> Outcome? {
            var result: Outcome?
            model.execute(f: "txn", value: txn, worker: 0, call: { request, answer in
                XCTAssertEqual(request, ["type": "txn", "txn": txn])
                answer(reply)
            }, complete: { result = $0 })
            return result
        }
        func ok(_ filled: JSONValue) -> JSONValue { ["type": "txn_ok", "in_reply_to": 1, "txn": filled] }
        func error(_ code: Int) -> JSONValue { ["type": "error", "in_reply_to": 1, "code": .int(code), "text": "x"] }
        func isMalformed(_ o: Outcome?) -> Bool { if case .info(let why)? = o { return why.hasPrefix("malformed-response") }; return false }

        let filled: JSONValue = [["r", 1, [1, 2]], ["append", 1, 3], ["r", 2, nil]]
        XCTAssertEqual(outcome(ok(filled)), .ok(filled))
        XCTAssertTrue(isMalformed(outcome(ok([["r", 1, 2], ["append", 1, 3], ["r", 2, nil]]))), "a read must be a list or null")
        XCTAssertTrue(isMalformed(outcome(ok([["r", 1, [1]], ["append", 1, 4], ["r", 2, nil]]))), "appends come back unchanged")
        XCTAssertTrue(isMalformed(outcome(ok([["r", 1, [1]], ["append", 1, 3]]))), "every micro-op comes back")
        XCTAssertTrue(isMalformed(outcome(ok([["r", 2, nil], ["append", 1, 3], ["r", 1, [1]]]))), "in order")
        XCTAssertTrue(isMalformed(outcome(["type": "txn_ok", "in_reply_to": 1, "txn": filled, "extra": 1])))
        for code in [1, 10, 11, 12, 14, 20, 21, 22, 30] {
            XCTAssertEqual(outcome(error(code)), .fail("error \(code): x"), "code \(code) is definite")
        }
        XCTAssertEqual(outcome(error(13)), .info("error 13: x"))
        XCTAssertEqual(outcome(error(1000)), .info("error 1000: x"), "unknown codes are indefinite")
        XCTAssertEqual(outcome(nil), .info("net-timeout"))
        XCTAssertTrue(model.reusableClients)
    }

    // MARK: runs

    func testSingleAuthorityRunsEveryChallenge() {
        for challenge in [Challenge.txnListAppend, .txnListAppendPartition, .txnListAppend5, .txnListAppend10n] {
            let r = run(challenge, seed: 2) { ListNode(forward: true) }
            let name = challenge.name
            print("\(name) single authority, seed 2: ops=\(r.history.count) "
                  + "ok-fraction=\(r.results["availability"]?["ok-fraction"] ?? .null) "
                  + "servers-msgs-per-op=\(r.results["net"]?["servers"]?["msgs-per-op"] ?? .null)")
            XCTAssertEqual(Double(r.history.count), 100 * challenge.spec.timeLimit, accuracy: 5 * challenge.spec.timeLimit, name)
            XCTAssertTrue(r.history.allSatisfy { $0.f == "txn" }, name)
            XCTAssertEqual(r.validity, .valid, "\(name): \(r.results["workload"] ?? .null)")
            XCTAssertTrue(r.goals.allSatisfy(\.met), "\(name): \(r.failedGoals.map(\.goal.description))")
            XCTAssertNil(Self.divergentReads(r.history).map { "\($0)" }, name)
            if challenge.spec.nemesis.isEmpty {
                XCTAssertTrue(r.history.allSatisfy { $0.outcome?.isOK == true }, name)
            } else {
                // Seed 2 cuts n1 off for 0.8 s.
                XCTAssertTrue(r.history.contains { if case .info? = $0.outcome { return true }; return false },
                              "\(name): a cut-off node's forwards time out")
            }
        }
    }

    func testNodesWithoutReplicationAreCaught() {
        let r = runLocalOnly(seed: 1)
        XCTAssertEqual(r.validity, .invalid, "\(r.results["workload"] ?? .null)")
        XCTAssertNotNil(Self.divergentReads(r.history), "each node's lists grow apart")
    }

    func testChallengeCommands() {
        XCTAssertEqual(Challenge.txnListAppend.maelstromCommand,
                       "maelstrom test -w txn-list-append --bin BIN --node-count 2 --time-limit 10 --rate 100")
        XCTAssertEqual(Challenge.txnListAppendPartition.maelstromCommand,
                       "maelstrom test -w txn-list-append --bin BIN --node-count 2 --time-limit 30 --rate 100 --nemesis partition")
        XCTAssertEqual(Challenge.txnListAppend5.spec.nodeCount, 5)
        XCTAssertEqual(Challenge.txnListAppend10n.maelstromCommand,
                       "maelstrom test -w txn-list-append --bin BIN --node-count 2 --concurrency 10n --time-limit 10 --rate 100")
        XCTAssertEqual(Challenges.all.map(\.name).suffix(4),
                       ["txn-list-append", "txn-list-append-partition", "txn-list-append-5", "txn-list-append-10n"])
    }
}

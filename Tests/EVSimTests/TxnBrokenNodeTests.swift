import EVSimCore
import EVCheckers
import EVCore
@testable import EVSim
import Workloads
import XCTest

/// Proof that the txn checker catches real misbehaviour: deliberately broken txn nodes run under
/// the 6a–6c harness (injected through `handlerFactory`) must come out invalid with the expected
/// anomaly, while evnode's own node stays valid over many seeds.
final class TxnBrokenNodeTests: XCTestCase {
    private func spec(nodes: Int, consistency: TxnChecker.ConsistencyModel, seconds: Double = 5,
                      broken: ((String) -> MessageHandler)?) -> TestSpec {
        var spec = TestSpec(makeModel: { TxnModel(consistency: consistency) })
        spec.nodeCount = nodes
        spec.concurrency = .perNode(2)
        spec.timeLimit = seconds
        spec.rate = 1000
        spec.handlerFactory = broken
        return spec
    }

    private func workload(_ r: TestResult) -> JSONValue { r.results["workload"] ?? .null }

    private func anomalyTypes(_ r: TestResult, _ section: String = "anomaly-types") -> [String] {
        workload(r)[section]?.array?.compactMap(\.string) ?? []
    }

    func testExposingAnIntermediateWriteIsG1b() {
        let result = Runner(spec: spec(nodes: 1, consistency: .readCommitted) { _ in FirstWriteWinsTxnNode() }).run()
        XCTAssertEqual(result.validity, .invalid)
        XCTAssertEqual(anomalyTypes(result), ["G1b"], "\(workload(result))")
        XCTAssertGreaterThan(workload(result)["anomalies"]?["G1b"]?["count"]?.int ?? 0, 10)
        // Read uncommitted allows it.
        let ru = Runner(spec: spec(nodes: 1, consistency: .readUncommitted) { _ in FirstWriteWinsTxnNode() }).run()
        XCTAssertEqual(ru.validity, .valid, "\(workload(ru))")
    }

    /// Writes installed before the transaction's reads are taken: concurrent transactions read
    /// each other's writes, a circular information flow.
    func testWritesVisibleBeforeTheTransactionsReadsIsG1c() {
        let result = Runner(spec: spec(nodes: 1, consistency: .readCommitted) { _ in WritesBeforeReadsTxnNode() }).run()
        XCTAssertEqual(result.validity, .invalid)
        XCTAssertTrue(anomalyTypes(result).contains("G1c"), "\(anomalyTypes(result))")
        XCTAssertFalse(anomalyTypes(result).contains("G1b"))
        XCTAssertFalse(anomalyTypes(result).contains("internal"))
        let example = workload(result)["anomalies"]?["G1c"]?["examples"]?[0]?["cycle"]?.array ?? []
        XCTAssertGreaterThanOrEqual(example.count, 2)
        XCTAssertTrue(example.contains { $0.string?.contains("-wr->") == true })
    }

    /// Replication without stamps (each node overwrites with whatever arrives last) lets the two
    /// nodes install one key's versions in opposite orders. Maelstrom's inference cannot see it;
    /// the sequential-keys analysis does.
    func testUnstampedLastArrivalWinsReplicationBreaksVersionOrder() {
        var s = spec(nodes: 2, consistency: .readCommitted) { _ in UnstampedReplicationTxnNode() }
        s.latencyMS = 10
        let result = Runner(spec: s).run()
        let strict = workload(result)["assuming-sequential-keys"]
        XCTAssertEqual(strict?["valid?"], false, "\(strict ?? .null)")
        let types = strict?["anomaly-types"]?.array?.compactMap(\.string) ?? []
        XCTAssertTrue(types.contains("cyclic-versions") || types.contains("G0"), "\(types)")

        var strictModel = s
        strictModel.makeModel = {
            var o = TxnModel.Options()
            o.requireSequentialKeys = true
            return TxnModel(o)
        }
        XCTAssertEqual(Runner(spec: strictModel).run().validity, .invalid)
    }

    /// The real node, same harness, 6c's parameters shortened to 5 s with a partition every
    /// ~2 s: valid every time, also under the stronger sequential-keys analysis.
    func testEvnodeIsValidOverManySeeds() {
        var partitioned = 0
        for seed in UInt64(1)...8 {
            var s = spec(nodes: 2, consistency: .readCommitted, broken: nil)
            s.availability = .total
            s.nemesis = [.partition]
            s.nemesisInterval = 1
            s.seed = seed
            let result = Runner(spec: s).run()
            XCTAssertEqual(result.validity, .valid, "seed \(seed): \(workload(result))")
            XCTAssertEqual(workload(result)["assuming-sequential-keys"]?["valid?"], true, "seed \(seed)")
            XCTAssertEqual(result.results["availability"]?["ok-fraction"], 1.0)
            if result.nemesisEvents.contains(where: { $0.action == .startPartition && !$0.detail.contains("no-op") }) {
                partitioned += 1
            }
        }
        XCTAssertGreaterThan(partitioned, 4, "most runs saw a real partition")
    }
}

// MARK: deliberately broken txn nodes

/// Shared plumbing: parses `txn` requests and answers them; subclasses decide what is visible.
class BrokenTxnNode: MessageHandler {
    var store: [JSONValue: JSONValue] = [:]
    unowned var node: Node!

    func nodeDidInit(_ node: Node) { self.node = node }

    func handle(_ m: Message, node: Node) {
        self.node = node
        if m.type == "txn", let req = m.request, let ops = m.body["txn"].value?.array {
            execute(ops, req)
        } else {
            peerMessage(m)
        }
    }

    func execute(_ ops: [JSONValue], _ req: RequestRef) {}
    func peerMessage(_ m: Message) {}

    /// Runs the micro-ops against `view` (reads see the txn's own writes); returns the
    /// completed micro-ops and the final write of each key.
    func run(_ ops: [JSONValue], view: [JSONValue: JSONValue]) -> (done: [JSONValue], finals: [(JSONValue, JSONValue)]) {
        var own: [JSONValue: JSONValue] = [:]
        var order: [JSONValue] = []
        var done: [JSONValue] = []
        for op in ops {
            guard let f = op[0]?.string, let k = op[1], let v = op[2] else { continue }
            if f == "r" {
                done.append(["r", k, own[k] ?? view[k] ?? nil])
            } else {
                if own[k] == nil { order.append(k) }
                own[k] = v
                done.append(op)
            }
        }
        return (done, order.map { ($0, own[$0]!) })
    }

    func reply(_ req: RequestRef, _ done: [JSONValue]) {
        node.reply(to: req) { w in
            w.field("type", "txn_ok")
            w.field("txn", JSONValue.array(done))
        }
    }
}

/// Atomic, but a key written twice in one transaction keeps its first (intermediate) value.
final class FirstWriteWinsTxnNode: BrokenTxnNode {
    override func execute(_ ops: [JSONValue], _ req: RequestRef) {
        let (done, _) = run(ops, view: store)
        var installed = Set<JSONValue>()
        for op in ops where op[0] == "w" {
            if let k = op[1], installed.insert(k).inserted { store[k] = op[2] }
        }
        reply(req, done)
    }
}

/// Installs the transaction's final writes at once but takes its reads 1 ms later.
final class WritesBeforeReadsTxnNode: BrokenTxnNode {
    override func execute(_ ops: [JSONValue], _ req: RequestRef) {
        let (_, finals) = run(ops, view: store)
        for (k, v) in finals { store[k] = v }
        node.after(.ms(1)) { [self] in
            let (done, _) = run(ops, view: store)
            reply(req, done)
        }
    }
}

/// Applies transactions atomically and ships each one to the peers at once; a receiver applies
/// whatever arrives, with no version stamps (last arrival wins).
final class UnstampedReplicationTxnNode: BrokenTxnNode {
    override func execute(_ ops: [JSONValue], _ req: RequestRef) {
        let (done, finals) = run(ops, view: store)
        for (k, v) in finals { store[k] = v }
        reply(req, done)
        guard !finals.isEmpty else { return }
        let writes = JSONValue.array(finals.map { [$0.0, $0.1] })
        for peer in node.peers {
            node.send(to: peer) { w in
                w.field("type", "bad_repl")
                w.field("writes", writes)
            }
        }
    }

    override func peerMessage(_ m: Message) {
        guard m.type == "bad_repl", let writes = m.body["writes"].value?.array else { return }
        for pair in writes { if let k = pair[0], let v = pair[1] { store[k] = v } }
    }
}

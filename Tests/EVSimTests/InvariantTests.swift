import EVCore
import EVCheckers
import EVSim
import EVSimCore
import Workloads
import XCTest

/// Each invariant of docs/evsim.md must fail a run whose nodes break it, even when Maelstrom's
/// verdict is valid: these inject handlers through `TestSpec.handlerFactory`.
final class InvariantTests: XCTestCase {
    private func broken(_ result: TestResult, _ fragment: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(result.passed, "a broken invariant fails the run", file: file, line: line)
        let names = result.brokenInvariants.map(\.name)
        XCTAssertTrue(names.contains { $0.contains(fragment) }, "broken: \(names)", file: file, line: line)
        XCTAssertFalse(result.brokenInvariants.first?.detail.isEmpty ?? true, file: file, line: line)
    }

    /// Floods each client broadcast to every peer at once; `keeps` decides which relayed values
    /// the node stores.
    final class FloodingBroadcast: MessageHandler {
        var values: [Int] = []
        let keeps: (Int) -> Bool
        init(keeps: @escaping (Int) -> Bool = { _ in true }) { self.keeps = keeps }
        func nodeDidInit(_ node: Node) {}
        func handle(_ m: Message, node: Node) {
            switch m.type {
            case "topology":
                if let req = m.request { node.reply(to: req, type: "topology_ok") }
            case "broadcast":
                guard let v = m.body["message"].int, let req = m.request else { return }
                values.append(v)
                for peer in node.peers { node.send(to: peer) { w in w.field("type", "relay"); w.field("value", v) } }
                node.reply(to: req, type: "broadcast_ok")
            case "relay":
                if let v = m.body["value"].int, keeps(v) { values.append(v) }
            case "read":
                guard let req = m.request else { return }
                let snapshot = values
                node.reply(to: req) { w in w.field("type", "read_ok"); w.field("messages", ints: snapshot) }
            default: break
            }
        }
    }

    func testBroadcastNodeMissingValuesInItsFinalReadFails() {
        var spec = Challenge.broadcast3b.spec
        spec.timeLimit = 5
        // n0 never stores relayed multiples of 5: its reads lack them, other nodes' do not.
        spec.handlerFactory = { id in FloodingBroadcast(keeps: { id != "n0" || $0 % 5 != 0 }) }
        let result = Runner(spec: spec).run()
        broken(result, "final read holds every acknowledged broadcast")
        XCTAssertTrue(result.brokenInvariants[0].detail.hasPrefix("n0:"), result.brokenInvariants[0].detail)
    }

    func testHealthyFloodingBroadcastHoldsTheInvariant() {
        var spec = Challenge.broadcast3b.spec
        spec.timeLimit = 5
        spec.handlerFactory = { _ in FloodingBroadcast() }
        let result = Runner(spec: spec).run()
        XCTAssertEqual(result.invariants.count, 1)
        XCTAssertTrue(result.passed, "\(result.invariants)")
    }

    /// A g-counter that floods adds; `lies` makes some reads smaller than the node's total.
    final class FloodingCounter: MessageHandler {
        var total = 0
        var reads = 0
        let lies: Bool
        init(lies: Bool) { self.lies = lies }
        func nodeDidInit(_ node: Node) {}
        func handle(_ m: Message, node: Node) {
            switch m.type {
            case "add":
                guard let d = m.body["delta"].int, let req = m.request else { return }
                total += d
                for peer in node.peers { node.send(to: peer) { w in w.field("type", "relay"); w.field("delta", d) } }
                node.reply(to: req, type: "add_ok")
            case "relay":
                total += m.body["delta"].int ?? 0
            case "read":
                guard let req = m.request else { return }
                reads += 1
                // During the load only, so the final reads (all Maelstrom checks) stay exact.
                let value = lies && node.now < .seconds(5) && reads % 2 == 0 ? max(total - 3, 0) : total
                node.reply(to: req) { w in w.field("type", "read_ok"); w.field("value", value) }
            default: break
            }
        }
    }

    func testGCounterReadGoingDownOnANodeFails() {
        var spec = Challenge.gCounter4.spec
        spec.timeLimit = 5
        spec.nemesis = []
        spec.handlerFactory = { id in FloodingCounter(lies: id == "n1") }
        let result = Runner(spec: spec).run()
        XCTAssertEqual(result.validity, .valid, "Maelstrom checks only the final reads")
        broken(result, "reads never go down")
        XCTAssertTrue(result.brokenInvariants[0].detail.hasPrefix("n1:"), result.brokenInvariants[0].detail)
    }

    /// evnode's router, except that `list_committed_offsets` reports 0 for every key after 4 s.
    final class ForgetfulCommits: MessageHandler {
        let router = Router()
        func nodeDidInit(_ node: Node) { router.nodeDidInit(node) }
        func handle(_ m: Message, node: Node) {
            guard m.type == "list_committed_offsets", node.now > .seconds(4), let req = m.request,
                  let keys = m.body["keys"].value?.array else { return router.handle(m, node: node) }
            node.reply(to: req) { w in
                w.field("type", "list_committed_offsets_ok")
                w.field("offsets", JSONValue.object(keys.compactMap(\.string).map { ($0, .int(0)) }))
            }
        }
    }

    func testKafkaCommittedOffsetGoingBackwardsOnANodeFails() {
        var spec = Challenge.kafka5b.spec
        spec.timeLimit = 10
        spec.handlerFactory = { _ in ForgetfulCommits() }
        let result = Runner(spec: spec).run()
        broken(result, "committed offsets never go backwards")
    }

    /// evnode's router, except that n1 stops hearing from n0 after 2 s; reports its registers.
    final class DeafReplica: MessageHandler, TxnStateReporting {
        let router = Router()
        let deaf: Bool
        init(deaf: Bool) { self.deaf = deaf }
        var txnRegisters: [JSONValue: JSONValue]? { router.txnRegisters }
        func nodeDidInit(_ node: Node) { router.nodeDidInit(node) }
        func handle(_ m: Message, node: Node) {
            if deaf, m.src == "n0", node.now > .seconds(2) { return }
            router.handle(m, node: node)
        }
    }

    func testTxnNodesThatDoNotConvergeFail() {
        var spec = Challenge.txn6bNoFault.spec
        spec.timeLimit = 5
        spec.handlerFactory = { id in DeafReplica(deaf: id == "n1") }
        let result = Runner(spec: spec).run()
        broken(result, "same value for every key")
        XCTAssertNotNil(result.phases.settled, "txn runs wait for replication before comparing nodes")
    }

    func testTxnChallengeConvergesAfterTheHeal() {
        var spec = Challenge.txn6c.spec
        spec.timeLimit = 5
        let result = Runner(spec: spec).run()
        XCTAssertEqual(result.invariants.map(\.holds), [true], "\(result.invariants)")
        XCTAssertEqual(result.phases.settled, result.phases.end + spec.recoveryWait)
    }
}

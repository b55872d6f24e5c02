import EVCore
import EVSimCore
import XCTest

/// The core runs any `MessageHandler`: here a few lines of echo-and-relay, no evnode workloads.
final class CoreClusterTests: XCTestCase {
    /// Echoes `echo` requests; a `relay` is forwarded once to the next node, which answers it.
    final class RelayHandler: MessageHandler {
        func nodeDidInit(_ node: Node) {}
        func handle(_ message: Message, node: Node) {
            guard let req = message.request else { return }
            switch message.type {
            case "relay":
                // One round trip to the next node, so node↔node latency shows in the trace.
                let next = node.nodeIDs[(node.nodeIDs.firstIndex(of: node.id)! + 1) % node.nodeIDs.count]
                node.rpc(to: next, timeout: .seconds(1), { $0.field("type", "ping") }) { _ in
                    node.reply(to: req, type: "relay_ok")
                }
            case "ping":
                node.reply(to: req, type: "pong")
            case "echo":
                let value = message.body["echo"].value ?? .null
                node.reply(to: req) { w in
                    w.field("type", "echo_ok")
                    w.field("echo", value)
                }
            default:
                node.replyError(to: req, code: .notSupported, text: "no")
            }
        }
    }

    private func cluster(seed: UInt64 = 1, latency: Micros = .ms(10)) -> Cluster {
        var settings = ClusterSettings(nodeCount: 3, latency: latency, seed: seed)
        settings.distribution = .uniform
        return Cluster(settings) { _ in RelayHandler() }
    }

    func testEveryObserverRunsAfterEachEventInOrder() {
        let c = cluster()
        var calls: [String] = []
        var first = 0, second = 0
        c.addObserver { _ in first += 1; calls.append("a") }
        c.addObserver { process in second += 1; calls.append("b"); XCTAssertTrue(c.nodeIDs.contains(process.id)) }
        c.initialize()
        XCTAssertEqual(c.call("n1", ["type": "relay"])?["type"], "relay_ok")
        XCTAssertGreaterThan(first, 0)
        XCTAssertEqual(first, second)
        let events = c.nodes.reduce(0) { $0 + $1.delivered + $1.timerRuns }
        XCTAssertEqual(first, events, "one call per message or timer run")
        XCTAssertEqual(calls, Array(repeating: ["a", "b"], count: first).flatMap { $0 })
    }

    func testAnyHandlerAnswersInitAndRequests() {
        let c = cluster()
        XCTAssertEqual(c.initialize(), [])
        let reply = c.call("n1", ["type": "echo", "echo": "hi"])
        XCTAssertEqual(reply?["type"], "echo_ok")
        XCTAssertEqual(reply?["echo"], "hi")
        XCTAssertEqual(c.call("n2", ["type": "nope"])?["code"]?.int, ErrorCode.notSupported.rawValue)
    }

    func testSameSeedSameTrace() {
        func trace(_ seed: UInt64) -> TraceHash {
            let c = cluster(seed: seed)
            var hash = TraceHash()
            c.network.onSend = { hash.add($0) }
            c.initialize()
            for i in 0..<20 { XCTAssertEqual(c.call("n\(i % 3)", ["type": "relay"])?["type"], "relay_ok") }
            // Services get latency too: drawn from the cluster's seed.
            let client = c.newClient()
            var done = 0
            for i in 0..<10 {
                client.call("seq-kv", ["type": "write", "key": "k", "value": .int(i)]) { _ in done += 1 }
            }
            c.run(until: { done == 10 }, limit: .seconds(5))
            return hash
        }
        XCTAssertEqual(trace(3), trace(3))
        XCTAssertNotEqual(trace(3).value, trace(4).value)
    }

    func testEventQueueRunsTiesInSchedulingOrder() {
        let q = EventQueue()
        var order: [Int] = []
        q.schedule(at: 5) { order.append(1) }
        q.schedule(at: 3) { order.append(0) }
        q.schedule(at: 5) { order.append(2) }
        q.run()
        XCTAssertEqual(order, [0, 1, 2])
        XCTAssertEqual(q.now, 5)
    }

    func testPartitionDropsAndHealRestores() {
        let c = cluster(latency: 0)
        c.initialize()
        c.network.partition([["n0"], ["n1", "n2"]])
        XCTAssertEqual(c.network.blocked.count, 4)
        c.network.heal()
        XCTAssertTrue(c.network.blocked.isEmpty)
    }
}

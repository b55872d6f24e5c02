import EVCore
import EVTestSupport
import XCTest

/// Issue 11: a node that was stopped (SIGSTOP) must not answer requests that waited in its stdin
/// past the client's 5 s timeout; short stops and fresh requests are answered as usual.
final class StallDetectionTests: XCTestCase {
    /// Answers every `ping` at once.
    final class Pong: MessageHandler {
        func nodeDidInit(_ node: Node) {}
        func handle(_ m: Message, node: Node) {
            if let req = m.request { node.reply(to: req, type: "pong") }
        }
    }

    private var transport: ManualTransport!
    private var node: Node!

    override func setUp() {
        transport = ManualTransport()
        node = Node(transport: transport, handler: Pong())
        node.receive(#"{"src":"c0","dest":"n0","body":{"type":"init","msg_id":1,"node_id":"n0","node_ids":["n0"]}}"#)
        // Running normally for a second: the watchdog ticks every 100 ms.
        for t in stride(from: Micros(0), through: Micros(1_000_000), by: 50_000) { transport.advance(to: t, node) }
        transport.clearOutput()
    }

    private func ping(_ id: Int) { node.receive(#"{"src":"c1","dest":"n0","body":{"type":"ping","msg_id":\#(id)}}"#) }
    private var answered: [Int] { transport.bodies.compactMap { $0["in_reply_to"]?.int } }

    func testRequestsThatWaitedThroughALongStopAreNotAnswered() {
        // Stopped at 1 s, resumed at 8 s: the stdin backlog is read before any timer runs.
        transport.now = .ms(8000)
        ping(2)
        ping(3)
        transport.advance(to: .ms(8001), node) // the overdue watchdog fires now
        ping(4)
        XCTAssertEqual(answered, [], "the clients gave up (5 s) while the node was stopped")
        XCTAssertEqual(node.stats.stalls, 1)
        XCTAssertEqual(node.stats.droppedLateClientReplies, 3)
        // After the grace period requests are fresh again.
        transport.advance(to: .ms(8300), node)
        ping(5)
        XCTAssertEqual(answered, [5])
    }

    func testTheWatchdogNoticesAStopBeforeAnyRequestArrives() {
        transport.advance(to: .ms(9000), node) // resumed: the timer comes due first this time
        ping(2)
        XCTAssertEqual(answered, [], "read within the grace period: as old as the stop")
        XCTAssertEqual(node.stats.stalls, 1)
    }

    func testAShortStopIsNoticedButItsRequestsAreStillAnswered() {
        transport.now = .ms(3000) // 2 s stop: clients are still waiting
        ping(2)
        XCTAssertEqual(answered, [2])
        XCTAssertEqual(node.stats.stalls, 1)
    }

    func testABusyNodeIsNotMistakenForAStoppedOne() {
        for t in stride(from: Micros(1_000_000), through: Micros(20_000_000), by: 40_000) {
            transport.advance(to: t, node)
            ping(Int(t / 1000))
        }
        XCTAssertEqual(node.stats.stalls, 0)
        XCTAssertEqual(node.stats.droppedLateClientReplies, 0)
    }
}

import EVCore
import EVTestSupport
@testable import Workloads
import XCTest

/// Waits of a restarted process that no other test pinned down (issue 20): each test here fails
/// when the wait it names is taken out. One lin-kv node by hand, lin-kv answered from
/// `transport.linKV`; a re-init of the node stands for the next process.
final class RestartWaitTests: XCTestCase {
    private var transport: ManualTransport!
    private var node: Node!

    private func makeNode(_ kind: WorkloadKind, durable: Bool) {
        transport = ManualTransport()
        var config = WorkloadConfig()
        config.durability.enabled = durable
        node = Node(transport: transport, handler: Router(forced: kind, config: config))
    }

    /// A process start: `init` as n1 of three.
    private func initNode() {
        node.receive(#"{"src":"c0","dest":"n1","body":{"type":"init","msg_id":1,"node_id":"n1","node_ids":["n0","n1","n2"]}}"#)
    }

    private func peer(_ body: String, from: String) {
        node.receive(#"{"src":"\#(from)","dest":"n1","body":\#(body)}"#)
    }

    /// Lets time pass in steps, lin-kv answering everything after each.
    private func settle(for duration: Micros = .ms(200)) {
        let end = transport.now + duration
        while transport.now < end {
            transport.advance(to: transport.now + .ms(5), node)
            transport.serveLinKV(node)
        }
    }

    private func votes(to peer: String) -> [JSONValue] {
        transport.messages.filter { $0["dest"] == .string(peer) && $0["body"]?["type"] == "lk_voted" }.compactMap { $0["body"] }
    }

    // MARK: Raft, durable mode

    /// A restarted durable process replays its term and vote before it takes part: a vote request
    /// that arrives while the replay is under way is not answered, so the vote its predecessor
    /// gave in that term is never given again to another candidate.
    func testARestartedDurableRaftProcessAnswersNoVoteBeforeItReplaysItsStore() {
        makeNode(.linKV, durable: true)
        initNode()
        settle()
        peer(#"{"type":"lk_vote","term":5,"last_index":0,"last_term":0,"pre":false}"#, from: "n0")
        settle()
        XCTAssertEqual(votes(to: "n0").last?["granted"], true, "the predecessor votes for n0 in term 5")

        transport.advance(to: transport.now + .ms(1), node)
        initNode() // the next process: its record, then its store, are read
        peer(#"{"type":"lk_vote","term":5,"last_index":0,"last_term":0,"pre":false}"#, from: "n2")
        settle()
        XCTAssertFalse(votes(to: "n2").contains { $0["term"] == 5 && $0["granted"] == true },
                       "a second vote in term 5: \(votes(to: "n2"))")
    }
}

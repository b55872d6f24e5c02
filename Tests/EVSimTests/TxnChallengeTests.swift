import EVCore
@testable import EVSim
import Workloads
import XCTest

/// Challenges 6a–6c through the runner, with their exact parameters.
final class TxnChallengeTests: XCTestCase {
    func testCommandsAreTheChallengePagesWithAnASCIINemesis() {
        XCTAssertEqual(Challenge.txn6a.maelstromCommand,
                       "maelstrom test -w txn-rw-register --bin BIN --node-count 1 --concurrency 2n --time-limit 20 --rate 1000 --availability total --consistency-models read-uncommitted")
        XCTAssertEqual(Challenge.txn6bNoFault.maelstromCommand,
                       "maelstrom test -w txn-rw-register --bin BIN --node-count 2 --concurrency 2n --time-limit 20 --rate 1000 --consistency-models read-uncommitted")
        XCTAssertEqual(Challenge.txn6b.maelstromCommand,
                       "maelstrom test -w txn-rw-register --bin BIN --node-count 2 --concurrency 2n --time-limit 20 --rate 1000 --availability total --nemesis partition --consistency-models read-uncommitted")
        XCTAssertEqual(Challenge.txn6c.maelstromCommand,
                       "maelstrom test -w txn-rw-register --bin BIN --node-count 2 --concurrency 2n --time-limit 20 --rate 1000 --availability total --nemesis partition --consistency-models read-committed")
        XCTAssertTrue(Challenge.txn6c.maelstromCommand.allSatisfy(\.isASCII))
        for name in ["6a", "6b-nofault", "6b", "6c"] { XCTAssertNotNil(Challenges.named(name)) }
    }

    /// 6c, seed 19: a partition is still in force when the 20 s of load end, so thousands of
    /// writes have not crossed yet. The run is valid, every transaction was answered ok, and the
    /// replication budget holds. Then the runner heals the network and waits before checking the
    /// convergence invariant: every acknowledged write is on both nodes, the maps are equal, and
    /// reads on either node return them.
    func testChallenge6cEveryWriteReachesEveryNodeAfterTheHeal() throws {
        let runner = Runner(spec: { var s = Challenge.txn6c.spec; s.seed = 19; return s }())
        let result = runner.run()
        XCTAssertEqual(result.validity, .valid, "\(result.results["workload"] ?? .null)")
        XCTAssertEqual(result.results["availability"]?["ok-fraction"], 1.0)
        guard case .double(let msgsPerOp)? = result.results["net"]?["servers"]?["msgs-per-op"] else {
            return XCTFail("no msgs-per-op")
        }
        XCTAssertLessThan(msgsPerOp, 0.25)
        let model = try XCTUnwrap(runner.model as? TxnModel)
        let c = runner.cluster
        // The result map is taken when Maelstrom's run would end, before the runner's settling.
        let pendingAtStop = result.results["workload"]?["replication-visibility"]?["not-applied"]?.int ?? 0
        XCTAssertGreaterThan(pendingAtStop, 1000, "the run ends inside a partition")

        XCTAssertEqual(result.invariants.map(\.holds), [true], "\(result.invariants)")
        XCTAssertEqual(model.visibility.visibilityLags(nodeIDs: c.nodeIDs).missing, 0)
        let maps = c.nodeIDs.map { (c.node($0).router?.active[.txn] as? RWRegister)?.map ?? [:] }
        XCTAssertEqual(maps[0], maps[1])
        XCTAssertGreaterThan(maps[0].count, 100)

        let keys = maps[0].keys.sorted { $0.text < $1.text }
        for node in c.nodeIDs {
            let client = c.newClient()
            var reads: [JSONValue] = []
            client.call(node, ["type": "txn", "txn": .array(keys.map { ["r", $0, nil] })]) { reply in
                reads = reply?["txn"]?.array ?? []
            }
            c.run(for: .ms(1))
            XCTAssertEqual(reads, keys.map { ["r", $0, maps[0][$0]!] }, "reads on \(node)")
        }
    }
}

import EVCore
import EVSimCore
import Workloads
import XCTest

/// Durable mode's two rules in `ReplicatedState` (docs/replication.md), on g-set over the simulated
/// network with a 10 ms lin-kv: nothing is visible before it is stored, and a restarted process
/// answers reads only after recovering every node's stored entries.
final class ReplicatedStateTests: XCTestCase {
    private func durableCluster() -> Cluster {
        initializedCluster(nodes: 2, latency: .ms(10), workload: .gSet) { $0.durability.enabled = true }
    }

    func testAnElementIsVisibleOnlyOnceStored() {
        let c = durableCluster()
        let writer = c.newClient(), reader = c.newClient()
        var added: JSONValue?, read: JSONValue?
        writer.call("n0", ["type": "add", "element": 1]) { added = $0 }
        reader.call("n0", ["type": "read"]) { read = $0 }
        c.run(until: { read != nil }, limit: .ms(100))
        XCTAssertNil(added, "the add waits for its store")
        XCTAssertEqual(read?["value"], [], "so a read in between must not show it: a kill now would take it back")
        c.run(until: { added != nil }, limit: .ms(200))
        XCTAssertEqual(c.call("n0", ["type": "read"])?["value"], [1])
    }

    func testARestartedProcessReadsOnlyAfterRecoveringEveryNodesStore() {
        let c = durableCluster()
        XCTAssertEqual(c.call("n1", ["type": "add", "element": 7])?["type"], "add_ok")
        c.run(for: .seconds(3)) // n0 has it from the leaf
        XCTAssertEqual(c.call("n0", ["type": "read"])?["value"], [7])
        XCTAssertTrue(c.kill("n0") && c.kill("n1"))
        c.run(for: .ms(100))
        XCTAssertTrue(c.start("n0")) // n1 stays down: only n1's store holds 7
        c.run(for: .ms(1))
        let reply = c.call("n0", ["type": "read"], limit: .seconds(2))
        XCTAssertEqual(reply?["value"], [7], "n0 showed 7 before the kill; it may not show less now")
    }

    /// The same rule at g-counter's read (its own call site): a restarted process does not answer
    /// a read before its store is back, so it never shows less than it acknowledged.
    func testARestartedCounterProcessReadsOnlyAfterRecoveringItsStore() {
        let c = initializedCluster(nodes: 1, latency: .ms(10), workload: .gCounter) { $0.durability.enabled = true }
        XCTAssertEqual(c.call("n0", ["type": "add", "delta": 5])?["type"], "add_ok")
        XCTAssertTrue(c.kill("n0"))
        XCTAssertTrue(c.start("n0"))
        c.run(for: .ms(1))
        let reply = c.call("n0", ["type": "read"], limit: .seconds(2))
        XCTAssertEqual(reply?["value"], 5, "n0 acknowledged the add before the kill; it may not show less now")
    }
}

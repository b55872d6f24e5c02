import EVCore
@testable import EVCheckers
import XCTest

/// The txn checker on hand-built histories: one per anomaly type, each checked under the models
/// that must and must not reject it.
final class TxnCheckerTests: XCTestCase {
    /// Builds a history; each entry is (process, txn as completed, outcome kind).
    private func history(_ txns: [(process: Int, txn: JSONValue, outcome: String)]) -> [EVCheckers.Operation] {
        txns.enumerated().map { i, t in
            var op = EVCheckers.Operation(process: t.process, worker: t.process, node: "n\(t.process % 2)", client: "c\(t.process)",
                               f: "txn", value: t.txn, invokedAt: Micros(i) * 1000)
            op.completedAt = op.invokedAt + 500
            switch t.outcome {
            case "ok": op.outcome = .ok(t.txn)
            case "fail": op.outcome = .fail("error 30: aborted")
            default: op.outcome = .info("net-timeout")
            }
            return op
        }
    }

    private func check(_ h: [EVCheckers.Operation], _ model: TxnChecker.ConsistencyModel, sequentialKeys: Bool = false) -> TxnChecker.Report {
        TxnChecker(model: model, sequentialKeys: sequentialKeys).check(h)
    }

    func testCleanHistoryIsValidUnderEveryModel() {
        let h = history([
            (0, [["w", 1, 1], ["w", 2, 1]], "ok"),
            (1, [["r", 1, 1], ["r", 2, 1]], "ok"),
            (0, [["r", 1, 1], ["w", 1, 2]], "ok"),
            (1, [["r", 1, 2], ["r", 3, nil]], "ok"),
        ])
        for model in TxnChecker.ConsistencyModel.allCases {
            let r = check(h, model)
            XCTAssertTrue(r.isValid, "\(model): \(r.json)")
            XCTAssertTrue(r.anomalies.isEmpty, "\(model): \(r.json)")
        }
        let r = check(h, .readCommitted)
        XCTAssertEqual(r.edgeCounts["wr"], 3) // T0→T1 twice (one edge), T0→T2, T2→T3
        XCTAssertEqual(r.edgeCounts["ww"], 1) // x: 1 < 2 from T2's write-follows-read
    }

    func testInternalInconsistency() {
        let h = history([
            (0, [["w", 1, 1]], "ok"),
            (1, [["w", 1, 2], ["r", 1, 1]], "ok"), // read does not see its own write
        ])
        XCTAssertEqual(check(h, .readUncommitted).prohibitedFound, ["internal"])
        XCTAssertEqual(check(h, .readCommitted).count("internal"), 1)
    }

    func testG1aAbortedReadFailsReadCommittedOnly() {
        let h = history([
            (0, [["w", 1, 1]], "fail"),
            (1, [["r", 1, 1]], "ok"),
        ])
        XCTAssertTrue(check(h, .readUncommitted).isValid)
        let rc = check(h, .readCommitted)
        XCTAssertEqual(rc.prohibitedFound, ["G1a"])
        XCTAssertEqual(rc.anomalies["G1a"]?.examples.count, 1)
    }

    func testReadingAnIndeterminateWriteIsNotG1a() {
        let h = history([
            (0, [["w", 1, 1]], "info"),
            (1, [["r", 1, 1]], "ok"),
        ])
        let r = check(h, .readCommitted)
        XCTAssertTrue(r.isValid, "\(r.json)")
        XCTAssertEqual(r.edgeCounts["wr"], 1)
    }

    func testG1bIntermediateRead() {
        let h = history([
            (0, [["w", 1, 1], ["w", 1, 2]], "ok"),
            (1, [["r", 1, 1]], "ok"),
        ])
        XCTAssertTrue(check(h, .readUncommitted).isValid)
        XCTAssertEqual(check(h, .readCommitted).prohibitedFound, ["G1b"])
    }

    /// T1 and T2 each read the other's write: circular information flow with wr edges only.
    func testG1cCircularInformationFlow() {
        let h = history([
            (0, [["w", 1, 1], ["r", 2, 2]], "ok"),
            (1, [["w", 2, 2], ["r", 1, 1]], "ok"),
        ])
        XCTAssertTrue(check(h, .readUncommitted).isValid)
        let rc = check(h, .readCommitted)
        XCTAssertEqual(rc.prohibitedFound, ["G1c"])
        let cycle = rc.anomalies["G1c"]?.examples.first?["cycle"]?.array ?? []
        XCTAssertEqual(cycle.count, 2, "\(rc.json)")
        XCTAssertTrue(cycle.allSatisfy { $0.string?.contains("-wr->") == true }, "\(cycle)")
    }

    /// Both version orders come from writes-following-reads: x: 1 < 2 (T2 read 1, wrote 2) and
    /// y: 2 < 1 (T1 read 2, wrote 1). The ww edges form a cycle: G0, prohibited even by RU.
    func testG0WriteCycleFromWritesFollowReads() {
        let h = history([
            (0, [["w", 1, 1], ["r", 2, 2], ["w", 2, 1]], "ok"),
            (1, [["w", 2, 2], ["r", 1, 1], ["w", 1, 2]], "ok"),
        ])
        let ru = check(h, .readUncommitted)
        XCTAssertEqual(ru.prohibitedFound, ["G0"], "\(ru.json)")
        let example = ru.anomalies["G0"]?.examples.first?["cycle"]?.array ?? []
        XCTAssertEqual(example.count, 2)
        XCTAssertTrue(example.allSatisfy { $0.string?.contains("-ww->") == true }, "\(example)")
        XCTAssertEqual(check(h, .readCommitted).prohibitedFound, ["G0", "G1c"])
    }

    /// A pure write cycle with no wr edge inside it: invisible to Maelstrom's inference (issue
    /// #56), found once each process's successive observations order the versions.
    func testPureG0NeedsSequentialKeys() {
        let h = history([
            (0, [["w", 1, 1], ["w", 2, 1]], "ok"), // T0
            (1, [["w", 1, 2], ["w", 2, 2]], "ok"), // T1
            (0, [["r", 1, 2]], "ok"),               // process 0 saw x=1, then x=2: 1 < 2
            (1, [["r", 2, 1]], "ok"),               // process 1 saw y=2, then y=1: 2 < 1
        ])
        XCTAssertTrue(check(h, .readUncommitted).isValid)
        let strict = check(h, .readUncommitted, sequentialKeys: true)
        XCTAssertEqual(strict.prohibitedFound, ["G0"], "\(strict.json)")
        XCTAssertEqual(check(h, .readCommitted, sequentialKeys: true).prohibitedFound, ["G0"])
    }

    /// A fractured read: T1 sees T0's write of y but not its write of x. One rw edge closes the
    /// cycle: G-single, which read committed allows and serializability does not.
    func testGSingleFracturedReadAllowedByReadCommitted() {
        let h = history([
            (0, [["w", 1, 1], ["w", 2, 1]], "ok"),
            (1, [["r", 1, nil], ["r", 2, 1]], "ok"),
        ])
        let rc = check(h, .readCommitted)
        XCTAssertTrue(rc.isValid)
        XCTAssertEqual(rc.allowedFound, ["G-single", "G2-item", "fractured-read"])
        XCTAssertFalse(check(h, .serializable).isValid)
    }

    /// The missed version need not be the initial one: T1 overwrote x = 1 with 2 (it read 1
    /// first), T2 sees T1's y but still x = 1.
    func testFracturedReadOfAnOlderVersion() {
        let h = history([
            (0, [["w", 1, 1]], "ok"),
            (0, [["r", 1, 1], ["w", 1, 2], ["w", 2, 2]], "ok"),
            (1, [["r", 2, 2], ["r", 1, 1]], "ok"),
            (1, [["r", 2, 2], ["r", 1, 2]], "ok"), // atomic view: fine
        ])
        let rc = check(h, .readCommitted)
        XCTAssertTrue(rc.isValid)
        XCTAssertEqual(rc.count("fractured-read"), 1, "\(rc.json)")
        XCTAssertEqual(rc.anomalies["fractured-read"]?.examples.first?["missed"], [1, 2])
    }

    func testLostUpdate() {
        let h = history([
            (0, [["r", 1, nil], ["w", 1, 1]], "ok"),
            (1, [["r", 1, nil], ["w", 1, 2]], "ok"),
        ])
        let rc = check(h, .readCommitted)
        XCTAssertTrue(rc.isValid)
        XCTAssertEqual(rc.count("lost-update"), 1)
        XCTAssertEqual(check(h, .serializable).prohibitedFound, ["G2-item", "lost-update"])
    }

    func testStructuralAnomaliesInvalidateEveryModel() {
        let garbage = history([(0, [["r", 1, 99]], "ok")])
        let duplicate = history([(0, [["w", 1, 1]], "ok"), (1, [["w", 1, 1]], "ok")])
        let cyclic = history([
            (0, [["r", 1, 1], ["w", 1, 2]], "ok"),
            (1, [["r", 1, 2], ["w", 1, 1]], "ok"),
        ])
        for model in TxnChecker.ConsistencyModel.allCases {
            XCTAssertEqual(check(garbage, model).prohibitedFound, ["garbage-read"])
            XCTAssertEqual(check(duplicate, model).prohibitedFound, ["duplicate-write"])
            XCTAssertTrue(check(cyclic, model).prohibitedFound.contains("cyclic-versions"))
        }
    }

    func testFutureRead() {
        let h = history([(0, [["r", 1, 5], ["w", 1, 5]], "ok")])
        XCTAssertTrue(check(h, .readUncommitted).isValid)
        XCTAssertEqual(check(h, .readCommitted).prohibitedFound, ["future-read"])
    }

    /// Reads of failed or unfinished transactions are unknown, never evidence.
    func testUnknownReadsAreIgnored() {
        let h = history([
            (0, [["w", 1, 1]], "ok"),
            (1, [["r", 1, nil], ["w", 2, 1]], "info"),
            (1, [["r", 1, nil]], "fail"),
        ])
        let r = check(h, .readCommitted)
        XCTAssertTrue(r.isValid)
        XCTAssertTrue(r.anomalies.isEmpty, "\(r.json)")
        XCTAssertEqual(r.infoCount, 1)
        XCTAssertEqual(r.failCount, 1)
    }

    /// A timed-out transaction that writes a key and then reads it: the read's value is unknown,
    /// not null (a client timeout under a kill or pause produced this false "internal" anomaly).
    func testUnknownReadAfterOwnWriteIsNotInternal() {
        let h = history([
            (0, [["w", 1, 1], ["r", 1, nil]], "info"),
            (1, [["w", 2, 1], ["r", 2, nil]], "fail"),
            (2, [["r", 1, 1]], "ok"),
        ])
        let r = check(h, .readCommitted)
        XCTAssertTrue(r.isValid, "\(r.json)")
        XCTAssertEqual(r.count("internal"), 0)
    }

    /// The iterative Tarjan handles a 200k-vertex cycle (a recursive one would overflow).
    func testTarjanOnALongCycleAndAChain() {
        let n = 200_000
        let ring = stronglyConnectedComponents(Adjacency(count: n) { v, out in out.append((v + 1) % n) })
        XCTAssertEqual(ring.cyclic.count, 1)
        XCTAssertEqual(ring.cyclic[0].count, n)
        let chain = stronglyConnectedComponents(Adjacency(count: n) { v, out in if v + 1 < n { out.append(v + 1) } })
        XCTAssertTrue(chain.cyclic.isEmpty)
        XCTAssertEqual(chain.componentCount, n)
        // Two cycles joined by a one-way edge stay two components, the target one first.
        let lists = [[1], [2], [0, 3], [4], [5], [3]]
        let two = stronglyConnectedComponents(Adjacency(lists: lists))
        XCTAssertEqual(Set(two.cyclic.map { Set($0) }), [Set([0, 1, 2]), Set([3, 4, 5])])
        XCTAssertGreaterThan(two.component[0], two.component[3])
        let positions = topologicalPositions(Adjacency(lists: lists), component: two.component, componentCount: two.componentCount)
        XCTAssertEqual(positions, [0, 0, 0, 1, 1, 1])
        var finder = PathFinder(count: 6)
        var budget = 100
        XCTAssertEqual(finder.shortestPath(from: 0, to: 5, in: Adjacency(lists: lists), allowed: { _ in true }, budget: &budget),
                       [0, 1, 2, 3, 4, 5])
        XCTAssertNil(finder.shortestPath(from: 3, to: 0, in: Adjacency(lists: lists), allowed: { _ in true }, budget: &budget))
    }
}

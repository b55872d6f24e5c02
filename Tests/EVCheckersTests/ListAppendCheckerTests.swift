import EVCore
@testable import EVCheckers
import XCTest

/// The list-append checker on hand-built histories (one per anomaly, each under the models that
/// must and must not reject it) and on randomized histories from a strict-serializable executor.
final class ListAppendCheckerTests: XCTestCase {
    typealias Model = ListAppendChecker.Model

    /// A history built by hand: each txn is given as completed (reads filled in); the invocation
    /// is the same with every read's value null.
    private struct History {
        var ops: [EVCheckers.Operation] = []

        mutating func txn(_ process: Int, _ from: Micros, _ to: Micros, _ txn: JSONValue, _ outcome: String = "ok") {
            let invocation = JSONValue.array(txn.array!.map { m in
                m[0]!.string == "r" ? .array([m[0]!, m[1]!, .null]) : m
            })
            var op = EVCheckers.Operation(process: process, worker: process, node: "n0", client: "c\(process)",
                                          f: "txn", value: invocation, invokedAt: from)
            switch outcome {
            case "ok": op.outcome = .ok(txn); op.completedAt = to
            case "fail": op.outcome = .fail("error 30: txn-conflict"); op.completedAt = to
            default: op.outcome = .info("net-timeout")
            }
            ops.append(op)
        }
    }

    private func types(_ r: CheckResult) -> [String] { r.details["anomaly-types"]!.array!.map { $0.string! } }

    private func assertValid(_ h: History, _ models: [Model] = Model.allCases, file: StaticString = #filePath, line: UInt = #line) {
        for model in models {
            let r = ListAppendChecker.check(h.ops, model: model)
            XCTAssertEqual(r.validity, .valid, "\(model): \(r.details)", file: file, line: line)
            XCTAssertEqual(types(r), [], "\(model)", file: file, line: line)
        }
    }

    /// Invalid under `models` with `type` among the anomalies found.
    private func assertFinds(_ type: String, _ h: History, under models: [Model] = Model.allCases,
                             file: StaticString = #filePath, line: UInt = #line) {
        for model in models {
            let r = ListAppendChecker.check(h.ops, model: model)
            XCTAssertEqual(r.validity, .invalid, "\(model): \(r.details)", file: file, line: line)
            XCTAssertTrue(types(r).contains(type), "\(model): \(types(r))", file: file, line: line)
        }
    }

    // MARK: valid histories

    func testSequentialHistoryIsValid() {
        var h = History()
        h.txn(0, 0, 10, [["append", 1, 1], ["append", 2, 1]])
        h.txn(1, 20, 30, [["r", 1, [1]], ["r", 2, [1]], ["append", 1, 2], ["r", 1, [1, 2]]])
        h.txn(0, 40, 50, [["r", 1, [1, 2]], ["r", 3, nil]])
        assertValid(h)
        let edges = ListAppendChecker.check(h.ops).details["dependency-edges"]!
        XCTAssertEqual(edges["ww"], 1) // 1 then 2 on key 1
        XCTAssertEqual(edges["wr"], 2) // T0 → T1 (one edge for both keys), T1 → T2
        XCTAssertEqual(edges["realtime"], 2) // T0 → T1 → T2, reduced
    }

    func testConcurrentNonConflictingTxnsAreValid() {
        var h = History()
        h.txn(0, 0, 30, [["append", 1, 1], ["r", 1, [1]]])
        h.txn(1, 5, 25, [["append", 2, 1], ["r", 2, [1]]])
        h.txn(2, 10, 40, [["r", 3, nil], ["append", 3, 7]])
        h.txn(0, 50, 60, [["r", 1, [1]], ["r", 2, [1]], ["r", 3, [7]]])
        assertValid(h)
    }

    func testInfoTxnWhoseAppendWasSeenCountsAsCommitted() {
        var h = History()
        h.txn(0, 0, 10, [["append", 1, 1], ["r", 2, nil]], "info")
        h.txn(1, 20, 30, [["r", 1, [1]]])
        h.txn(1, 40, 50, [["r", 1, [1]], ["append", 1, 2]])
        h.txn(2, 60, 70, [["r", 1, [1, 2]]])
        assertValid(h)
        XCTAssertEqual(ListAppendChecker.check(h.ops).details["dependency-edges"]!["wr"], 3)
    }

    func testInfoTxnNobodySawIsIgnored() {
        var h = History()
        h.txn(0, 0, 10, [["append", 1, 5]], "info")
        h.txn(1, 20, 30, [["r", 1, nil], ["append", 1, 6]])
        h.txn(1, 40, 50, [["r", 1, [6]]])
        assertValid(h)
    }

    func testReadOfAnUntouchedKeyIsNull() {
        var h = History()
        h.txn(0, 0, 10, [["r", 9, nil]])
        h.txn(1, 5, 15, [["r", 9, nil], ["append", 8, 1]])
        assertValid(h)
    }

    // MARK: per-transaction and per-key anomalies

    func testInternalInconsistency() {
        var h = History()
        h.txn(0, 0, 10, [["append", 1, 1], ["r", 1, []]]) // does not see its own append
        assertFinds("internal", h)
        var h2 = History()
        h2.txn(0, 0, 10, [["append", 1, 1]])
        h2.txn(1, 20, 30, [["r", 1, [1]], ["r", 1, []]]) // two reads disagree
        assertFinds("internal", h2)
    }

    func testDuplicateElements() {
        var h = History()
        h.txn(0, 0, 10, [["append", 1, 1]])
        h.txn(1, 20, 30, [["r", 1, [1, 1]]])
        assertFinds("duplicate-elements", h)
    }

    func testIncompatibleOrder() {
        var h = History()
        h.txn(0, 0, 10, [["append", 1, 1]])
        h.txn(1, 0, 10, [["append", 1, 2]])
        h.txn(2, 20, 30, [["r", 1, [1, 2]]])
        h.txn(3, 20, 30, [["r", 1, [2, 1]]])
        assertFinds("incompatible-order", h)
    }

    func testG1aAbortedReadAndDirtyUpdate() {
        var h = History()
        h.txn(0, 0, 10, [["append", 1, 1]], "fail")
        h.txn(1, 20, 30, [["append", 1, 2]])
        h.txn(2, 40, 50, [["r", 1, [1, 2]]])
        assertFinds("G1a", h)
        assertFinds("dirty-update", h)
    }

    func testG1bIntermediateRead() {
        var h = History()
        h.txn(0, 0, 10, [["append", 1, 1], ["append", 1, 2]])
        h.txn(1, 5, 15, [["r", 1, [1]]])
        assertFinds("G1b", h)
    }

    // MARK: cycles

    func testG0WriteCycle() {
        // T0 and T1 append to x and y in opposite orders.
        var h = History()
        h.txn(0, 0, 10, [["append", 1, 1], ["append", 2, 2]])
        h.txn(1, 0, 10, [["append", 1, 2], ["append", 2, 1]])
        h.txn(2, 20, 30, [["r", 1, [1, 2]], ["r", 2, [1, 2]]])
        assertFinds("G0", h)
    }

    func testG1cCircularInformationFlow() {
        var h = History()
        h.txn(0, 0, 10, [["append", 1, 1], ["r", 2, [1]]])
        h.txn(1, 0, 10, [["append", 2, 1], ["r", 1, [1]]])
        assertFinds("G1c", h)
    }

    func testGSingleReadSkewIsAllowedOnlyByReadCommitted() {
        var h = History()
        h.txn(0, 0, 10, [["append", 1, 1], ["append", 2, 1]])
        h.txn(1, 0, 10, [["r", 1, nil], ["r", 2, [1]]]) // saw T0's y but not its x
        assertFinds("G-single", h, under: [.strictSerializable, .serializable, .snapshotIsolation])
        let rc = ListAppendChecker.check(h.ops, model: .readCommitted)
        XCTAssertEqual(rc.validity, .valid)
        XCTAssertEqual(types(rc), ["G-single"])
        let example = rc.details["anomalies"]!["G-single"]!["examples"]![0]!
        XCTAssertEqual(example["cycle"], ["T0", "wr", "T1", "rw", "T0"])
    }

    func testLostUpdateIsGSingle() {
        var h = History()
        h.txn(0, 0, 10, [["r", 1, nil], ["append", 1, 1]])
        h.txn(1, 0, 10, [["r", 1, nil], ["append", 1, 2]])
        h.txn(2, 20, 30, [["r", 1, [1, 2]]])
        assertFinds("G-single", h, under: [.serializable, .snapshotIsolation])
    }

    func testG2WriteSkewIsAllowedBySnapshotIsolation() {
        var h = History()
        h.txn(0, 0, 10, [["r", 1, nil], ["r", 2, nil], ["append", 1, 1]])
        h.txn(1, 0, 10, [["r", 1, nil], ["r", 2, nil], ["append", 2, 1]])
        h.txn(2, 20, 30, [["r", 1, [1]], ["r", 2, [1]]])
        assertFinds("G2-item", h, under: [.strictSerializable, .serializable])
        let si = ListAppendChecker.check(h.ops, model: .snapshotIsolation)
        XCTAssertEqual(si.validity, .valid, "\(si.details)")
        XCTAssertEqual(types(si), ["G2-item"])
    }

    func testStaleReadIsSerializableButNotStrict() {
        // T1 begins after T0 completed, yet misses T0's append: fine if T1 ran first.
        var h = History()
        h.txn(0, 0, 10, [["append", 1, 1]])
        h.txn(1, 20, 30, [["r", 1, nil]])
        assertValid(h, [.serializable, .snapshotIsolation, .readCommitted])
        assertFinds("G-single-realtime", h, under: [.strictSerializable])
    }

    func testRealtimeEdgesUseHistoryIndicesWhenSet() {
        // Same times, but the indices say T0 completed before T1 was invoked.
        var h = History()
        h.txn(0, 0, 10, [["append", 1, 1]])
        h.txn(1, 0, 10, [["r", 1, nil]])
        assertValid(h)
        (h.ops[0].invokeIndex, h.ops[0].completeIndex, h.ops[1].invokeIndex, h.ops[1].completeIndex) = (0, 1, 2, 3)
        assertFinds("G-single-realtime", h, under: [.strictSerializable])
    }

    func testExhaustedSearchIsUnknown() {
        var h = History()
        h.txn(0, 0, 10, [["r", 1, nil], ["r", 2, nil], ["append", 1, 1]])
        h.txn(1, 0, 10, [["r", 1, nil], ["r", 2, nil], ["append", 2, 1]])
        let r = ListAppendChecker.check(h.ops, model: .snapshotIsolation, searchBudget: 0)
        XCTAssertEqual(r.validity, .unknown)
        XCTAssertEqual(types(r), ["cycle-search-timeout"])
    }

    // MARK: randomized

    /// splitmix64: a seeded generator that is the same on every platform.
    private struct Rng {
        var state: UInt64
        mutating func next(_ n: Int) -> Int {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int((z ^ (z >> 31)) % UInt64(n))
        }
    }

    /// Workers run txns one after another; each txn takes effect atomically at a random point
    /// within its interval (an info txn: at some point after its invocation, or never; a failed
    /// one: never), against one in-memory store. That is strict serializability by construction;
    /// without `realtime` the points are anywhere in the run: serializable, rarely strict.
    private func history(seed: UInt64, realtime: Bool = true, txns: Int = 60, workers: Int = 5,
                         keys: Int = 4) -> [EVCheckers.Operation] {
        var rng = Rng(state: seed)
        var clock = Array(repeating: Micros(0), count: workers)
        var process = Array(0..<workers)
        var nextValue = Array(repeating: 1, count: keys)
        var planned: [(op: EVCheckers.Operation, ops: [(isRead: Bool, key: Int, value: Int)], at: Micros?)] = []
        for _ in 0..<txns {
            let w = rng.next(workers)
            let from = clock[w] + Micros(rng.next(5)), to = from + 1 + Micros(rng.next(20))
            clock[w] = to
            let ops = (0...rng.next(4)).map { _ -> (Bool, Int, Int) in
                let key = rng.next(keys)
                if rng.next(2) == 0 { return (true, key, 0) }
                defer { nextValue[key] += 1 }
                return (false, key, nextValue[key])
            }
            let invocation = JSONValue.array(ops.map { $0.0 ? ["r", .int($0.1), nil] : ["append", .int($0.1), .int($0.2)] })
            var op = EVCheckers.Operation(process: process[w], worker: w, node: "n0", client: "c\(w)", f: "txn",
                                          value: invocation, invokedAt: from)
            op.completedAt = to
            var at: Micros? = realtime ? from + Micros(rng.next(Int(to - from) + 1)) : Micros(rng.next(1000))
            switch rng.next(20) {
            case 0: op.outcome = .fail("txn-conflict"); at = nil
            case 1:
                op.outcome = .info("net-timeout")
                at = rng.next(2) == 0 ? nil : from + Micros(rng.next(100))
                process[w] += workers // Jepsen gives the worker a new process
            default: op.outcome = .ok(.null) // filled in when it runs
            }
            planned.append((op, ops, at))
        }
        var store: [Int: [Int]] = [:]
        let order = planned.indices.filter { planned[$0].at != nil }.sorted { (planned[$0].at!, $0) < (planned[$1].at!, $1) }
        for i in order {
            let results = planned[i].ops.map { m -> JSONValue in
                if m.isRead { return ["r", .int(m.key), store[m.key].map { .array($0.map { .int($0) }) } ?? nil] }
                store[m.key, default: []].append(m.value)
                return ["append", .int(m.key), .int(m.value)]
            }
            if planned[i].op.outcome?.isOK == true { planned[i].op.outcome = .ok(.array(results)) }
        }
        return planned.map(\.op).sorted { $0.invokedAt < $1.invokedAt }
    }

    func testRandomStrictSerializableHistoriesAreValidAndABrokenReadIsNot() {
        var broken = 0
        for seed in UInt64(1)...20 {
            var history = history(seed: seed)
            let r = ListAppendChecker.check(history)
            XCTAssertEqual(r.validity, .valid, "seed \(seed): \(r.details)")
            let edges = r.details["dependency-edges"]!
            XCTAssertGreaterThan(edges["rw"]!.int! + edges["wr"]!.int!, 0, "seed \(seed)")

            // Drop the second element of a read of ≥ 3 elements that another read also covers:
            // the two can then be no prefix of one another, whatever the model.
            var reads: [(op: Int, micro: Int, key: Int, count: Int)] = []
            for (i, op) in history.enumerated() {
                guard let txn = op.outcome?.okValue?.array else { continue }
                for (j, m) in txn.enumerated() where m[0]!.string == "r" {
                    if let list = m[2]!.array { reads.append((i, j, m[1]!.int!, list.count)) }
                }
            }
            guard let victim = reads.first(where: { v in
                v.count >= 3 && reads.contains { $0.key == v.key && $0.count >= 2 && ($0.op, $0.micro) != (v.op, v.micro) }
            }) else { continue }
            var txn = history[victim.op].outcome!.okValue!.array!
            var list = txn[victim.micro][2]!.array!
            list.remove(at: 1)
            txn[victim.micro] = ["r", .int(victim.key), .array(list)]
            history[victim.op].outcome = .ok(.array(txn))
            for model in Model.allCases {
                let b = ListAppendChecker.check(history, model: model)
                XCTAssertEqual(b.validity, .invalid, "seed \(seed) \(model)")
                XCTAssertTrue(types(b).contains("incompatible-order"), "seed \(seed): \(types(b))")
            }
            broken += 1
        }
        XCTAssertGreaterThan(broken, 10)
    }

    func testRandomSerialHistoriesIgnoringRealTimeAreSerializableNotStrict() {
        var notStrict = 0
        for seed in UInt64(1)...20 {
            let h = history(seed: seed, realtime: false)
            for model in [Model.serializable, .snapshotIsolation, .readCommitted] {
                let r = ListAppendChecker.check(h, model: model)
                XCTAssertEqual(r.validity, .valid, "seed \(seed) \(model): \(r.details)")
            }
            let strict = ListAppendChecker.check(h)
            XCTAssertNotEqual(strict.validity, .unknown, "seed \(seed)")
            if strict.validity == .invalid {
                notStrict += 1
                XCTAssertTrue(types(strict).allSatisfy { $0.hasSuffix("-realtime") }, "seed \(seed): \(types(strict))")
            }
        }
        XCTAssertGreaterThan(notStrict, 10)
    }
}

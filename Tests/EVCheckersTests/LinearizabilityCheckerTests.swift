import EVCore
@testable import EVCheckers
import XCTest

/// The lin-kv checker on hand-made histories it must accept or reject, its budget, its
/// explanations, and on histories of a simulated linearizable register.
final class LinearizabilityCheckerTests: XCTestCase {
    private enum Kind { case ok, info, fail }

    /// One op on `key`, invoked at `from` ms and completed at `to` ms (an :info one times out there).
    private func op(_ process: Int, _ f: String, _ arg: JSONValue, _ from: Int64, _ to: Int64,
                    key: Int = 0, result: JSONValue = nil, _ kind: Kind = .ok) -> EVCheckers.Operation {
        var o = EVCheckers.Operation(process: process, worker: process, node: "n0", client: "c\(process)",
                                     f: f, value: [.int(key), arg], invokedAt: .ms(from))
        o.completedAt = .ms(to)
        switch kind {
        case .ok: o.outcome = .ok(f == "read" ? [.int(key), result] : [.int(key), arg])
        case .info: o.outcome = .info("net-timeout")
        case .fail: o.outcome = .fail("error 22: precondition failed")
        }
        return o
    }

    private func read(_ p: Int, _ v: JSONValue, _ from: Int64, _ to: Int64, key: Int = 0) -> EVCheckers.Operation {
        op(p, "read", nil, from, to, key: key, result: v)
    }

    private func write(_ p: Int, _ v: Int, _ from: Int64, _ to: Int64, key: Int = 0, _ kind: Kind = .ok) -> EVCheckers.Operation {
        op(p, "write", .int(v), from, to, key: key, kind)
    }

    private func cas(_ p: Int, _ old: Int, _ new: Int, _ from: Int64, _ to: Int64, key: Int = 0, _ kind: Kind = .ok) -> EVCheckers.Operation {
        op(p, "cas", [.int(old), .int(new)], from, to, key: key, kind)
    }

    private func check(_ h: [EVCheckers.Operation], maxStates: Int = 1_000_000) -> CheckResult {
        LinearizabilityChecker(maxStatesPerKey: maxStates).check(h)
    }

    private func assertValid(_ h: [EVCheckers.Operation], file: StaticString = #filePath, line: UInt = #line) {
        let r = check(h)
        XCTAssertEqual(r.validity, .valid, "\(r.details)", file: file, line: line)
    }

    /// Asserts the history is invalid and returns the first failure.
    @discardableResult
    private func assertInvalid(_ h: [EVCheckers.Operation], file: StaticString = #filePath, line: UInt = #line) -> JSONValue? {
        let r = check(h)
        XCTAssertEqual(r.validity, .invalid, "\(r.details)", file: file, line: line)
        return r.details["failures"]?[0]
    }

    // MARK: accepted

    func testSequentialOpsAreValid() {
        assertValid([
            write(0, 1, 0, 10), read(1, 1, 20, 30), cas(2, 1, 2, 40, 50), read(0, 2, 60, 70),
            write(1, 3, 80, 90), read(2, 3, 100, 110),
        ])
    }

    func testConcurrentReadMaySeeEitherValue() {
        for seen in [1, 2] {
            assertValid([write(0, 1, 0, 10), write(1, 2, 20, 40), read(2, .int(seen), 25, 35)])
        }
    }

    func testInfoWriteThatHappenedIsSeen() {
        assertValid([write(0, 1, 0, 10), write(1, 2, 20, 30, .info), read(2, 1, 40, 50), read(2, 2, 60, 70), read(0, 2, 80, 90)])
    }

    func testInfoWriteThatNeverHappenedIsNeverSeen() {
        assertValid([write(0, 1, 0, 10), write(1, 2, 20, 30, .info), read(2, 1, 40, 50), read(0, 1, 1000, 1010)])
    }

    func testInfoWriteMayTakeEffectLongAfterItsTimeout() {
        assertValid([write(1, 2, 0, 10, .info), write(0, 1, 20, 30), read(2, 1, 40, 50), read(2, 2, 60, 70)])
    }

    func testCasChainsInAnyConcurrentOrder() {
        // Three overlapping cas calls only succeed in the order 0→1→2→3, not their invocation order.
        assertValid([
            write(0, 0, 0, 10),
            cas(1, 2, 3, 20, 60), cas(2, 1, 2, 21, 61), cas(3, 0, 1, 22, 62),
            read(0, 3, 70, 80), cas(0, 3, 4, 90, 100), read(1, 4, 110, 120),
        ])
    }

    func testReadOfMissingKeyBeforeAnyWrite() {
        assertValid([read(0, nil, 0, 10), write(1, 1, 20, 30), read(0, 1, 40, 50)])
        assertValid([read(0, nil, 0, 50), write(1, 1, 10, 20)]) // concurrent: before the write
    }

    func testFailedCasIsIgnored() {
        assertValid([write(0, 1, 0, 10), cas(1, 1, 3, 20, 30, .fail), cas(1, 2, 3, 20, 30, .fail), read(2, 1, 40, 50)])
    }

    func testTimedOutReadsAreDropped() {
        assertValid([write(0, 1, 0, 10), op(1, "read", nil, 20, 30, .info), read(2, 1, 40, 50)])
    }

    func testKeysAreCheckedIndependently() {
        let r = check([write(0, 1, 0, 10, key: 1), read(1, nil, 20, 30, key: 2), read(2, 1, 20, 30, key: 1)])
        XCTAssertEqual(r.validity, .valid, "\(r.details)")
        XCTAssertEqual(r.details["key-count"], 2)
    }

    func testEventIndicesOrderWhenSet() {
        // By time the write completed before the read began; by event order they overlap.
        var h = [write(0, 1, 0, 10), write(1, 2, 20, 30), read(2, 1, 40, 50)]
        XCTAssertEqual(check(h).validity, .invalid)
        for (i, (inv, done)) in [(0, 1), (2, 4), (3, 5)].enumerated() {
            h[i].invokeIndex = inv
            h[i].completeIndex = done
        }
        XCTAssertEqual(check(h).validity, .valid)
    }

    // MARK: rejected

    func testStaleReadIsInvalid() {
        assertInvalid([write(0, 1, 0, 10), read(1, 1, 15, 25), write(0, 2, 20, 30), read(1, 1, 40, 50)])
    }

    func testLostWriteIsInvalid() {
        // Write 2 was acknowledged, yet a later cas found the register still at 1.
        assertInvalid([write(0, 1, 0, 10), write(1, 2, 20, 30), cas(2, 1, 3, 40, 50), read(0, 3, 60, 70)])
    }

    func testCasFromWrongValueSucceedingIsInvalid() {
        assertInvalid([write(0, 1, 0, 10), cas(1, 2, 3, 20, 30)])
        assertInvalid([cas(1, 2, 3, 20, 30)]) // a cas on a missing key cannot succeed
    }

    func testReadBeforeItsWriteIsInvalid() {
        // Two sequential writes; a read after both sees the first.
        assertInvalid([write(0, 1, 0, 10), write(1, 2, 20, 30), read(2, 1, 40, 50)])
        // A read completes with a value whose write was invoked only afterwards.
        assertInvalid([read(0, 2, 0, 10), write(1, 2, 20, 30)])
    }

    func testReadOfValueNeverWrittenIsInvalid() {
        assertInvalid([write(0, 1, 0, 10), write(1, 2, 5, 30, .info), read(2, 99, 20, 40)])
    }

    func testReadOfNilAfterCompletedWriteIsInvalid() {
        assertInvalid([write(0, 1, 0, 10), read(1, nil, 20, 30)])
    }

    func testInfoWriteSeenThenUnseenIsInvalid() {
        assertInvalid([write(0, 1, 0, 10), write(1, 3, 20, 30, .info), read(2, 3, 40, 50), read(0, 1, 60, 70)])
    }

    func testFailedWriteSeenIsInvalid() {
        assertInvalid([write(0, 1, 0, 10), write(1, 3, 20, 30, .fail), read(2, 3, 40, 50)])
    }

    // MARK: budget, malformed ops

    /// n concurrent writes of distinct values and a read of a value none wrote: the search must
    /// try every order of the writes (as a subset and a last value, about n·2ⁿ⁻¹ states).
    private func concurrentWritesThenImpossibleRead(_ n: Int) -> [EVCheckers.Operation] {
        (0..<n).map { write($0, $0, Int64($0), 1000 + Int64($0)) } + [read(n, 99, 2000, 2010)]
    }

    func testBudgetYieldsUnknown() {
        let r = check(concurrentWritesThenImpossibleRead(16), maxStates: 50_000)
        XCTAssertEqual(r.validity, .unknown, "\(r.details)")
        XCTAssertEqual(r.details["unknown-keys"], [0])
        XCTAssertEqual(r.details["invalid-keys"], [])

        let full = check(concurrentWritesThenImpossibleRead(10))
        XCTAssertEqual(full.validity, .invalid)
        XCTAssertEqual(full.details["states-explored"]?.int.map { $0 > 10 * 256 }, true, "\(full.details)")
    }

    func testInvalidKeyBeatsUnknownKey() {
        let impossible = concurrentWritesThenImpossibleRead(16)
        let r = check(impossible + [write(0, 1, 0, 10, key: 7), read(1, nil, 20, 30, key: 7)], maxStates: 50_000)
        XCTAssertEqual(r.validity, .invalid)
        XCTAssertEqual(r.details["invalid-keys"], [7])
        XCTAssertEqual(r.details["unknown-keys"], [0])
    }

    func testMalformedOpMakesResultUnknown() {
        var bad = write(0, 1, 0, 10)
        bad.value = 5
        let r = check([bad, read(1, nil, 20, 30)])
        XCTAssertEqual(r.validity, .unknown)
        XCTAssertEqual(r.details["malformed-count"], 1)
    }

    // MARK: explanations

    func testExplanationNamesTheBlockedRead() throws {
        let failure = try XCTUnwrap(assertInvalid([write(0, 1, 0, 10), write(1, 2, 20, 30), read(2, 1, 40, 50)]))
        XCTAssertEqual(failure["key"], 0)
        XCTAssertEqual(failure["blocked-op"]?["index"], 2)
        XCTAssertEqual(failure["possible-values"], [2])
        XCTAssertEqual(failure["linearized-count"], 2)
        XCTAssertEqual(failure["explanation"]?.string,
                       "key 0: after 2 of 3 ok ops, no linearization gets past #2 p2 read → 1 (40–50 ms). "
                       + "Concurrent with it: none. Values the register could hold where it could take effect: 2.")
    }

    func testExplanationListsConcurrentOpsAndValues() throws {
        // The read of nil overlaps write 2 and an :info write 3, but write 1 completed before it.
        let failure = try XCTUnwrap(assertInvalid([
            write(0, 1, 0, 10), write(1, 3, 12, 14, .info), write(2, 2, 20, 60), read(3, nil, 30, 40),
        ]))
        XCTAssertEqual(failure["blocked-op"]?["index"], 3)
        XCTAssertEqual(failure["concurrent-ops"]?.array?.compactMap { $0["index"]?.int }, [1, 2])
        XCTAssertEqual(failure["possible-values"], [1, 2, 3])
        let text = try XCTUnwrap(failure["explanation"]?.string)
        XCTAssertTrue(text.contains("past #3 p3 read → nil (30–40 ms)"), text)
        XCTAssertTrue(text.contains("Concurrent with it: #1 p1 write 3 (:info, invoked 12 ms); #2 p2 write 2 (20–60 ms)."), text)
        XCTAssertTrue(text.hasSuffix("could take effect: 1, 2, 3."), text)
    }

    // MARK: simulated registers

    /// A history of real registers (values 0–4): each op takes effect at a random instant between
    /// its invocation and completion; an :info write or cas takes effect or not at random. Latencies
    /// are mostly short with a long tail, so concurrency varies.
    private func simulated(seed: UInt64, keys: Int, processes: Int, seconds: Int64, infoRate: Double) -> [EVCheckers.Operation] {
        var rng = SplitMix64(seed: seed)
        var planned: [(op: EVCheckers.Operation, effectAt: Micros, happens: Bool)] = []
        var nextProcess = processes
        for worker in 0..<processes {
            var process = worker
            var t = Micros.random(in: 0..<300_000, using: &rng)
            while t < seconds * 1_000_000 {
                let latency = Double.random(in: 0..<1, using: &rng) < 0.7
                    ? Micros.random(in: 500..<20_000, using: &rng) : Micros.random(in: 20_000..<400_000, using: &rng)
                let key = Int.random(in: 0..<keys, using: &rng)
                let f = ["read", "read", "write", "cas"].randomElement(using: &rng)!
                let arg: JSONValue = f == "read" ? nil
                    : f == "write" ? .int(Int.random(in: 0...4, using: &rng))
                    : [.int(Int.random(in: 0...4, using: &rng)), .int(Int.random(in: 0...4, using: &rng))]
                var o = EVCheckers.Operation(process: process, worker: worker, node: "n0", client: "c\(worker)",
                                             f: f, value: [.int(key), arg], invokedAt: t)
                o.completedAt = t + latency
                let info = Double.random(in: 0..<1, using: &rng) < infoRate
                if info {
                    o.outcome = .info("net-timeout")
                    process = nextProcess
                    nextProcess += 1
                }
                planned.append((o, t + Micros.random(in: 0...latency, using: &rng), !info || Bool.random(using: &rng)))
                t += latency + Micros.random(in: 0..<600_000, using: &rng)
            }
        }
        var registers: [Int: JSONValue] = [:]
        for i in planned.indices.sorted(by: { planned[$0].effectAt < planned[$1].effectAt }) {
            let op = planned[i].op
            let key = op.value[0]!.int!, arg = op.value[1]!
            let current = registers[key] ?? nil
            var outcome = op.outcome
            switch op.f {
            case "read": outcome = outcome ?? .ok([.int(key), current])
            case "write":
                if planned[i].happens { registers[key] = arg }
                outcome = outcome ?? .ok(op.value)
            default:
                let applies = current == arg[0]!
                if planned[i].happens, applies { registers[key] = arg[1]! }
                outcome = outcome ?? (applies ? .ok(op.value) : .fail(current.isNull ? "error 20" : "error 22"))
            }
            planned[i].op.outcome = outcome
        }
        return planned.map(\.op).sorted { $0.invokedAt < $1.invokedAt }
    }

    /// lin-kv's size: 60 s, 5 keys, ~30 ops/s, 10% :info; then one read made impossible.
    func testLargeSimulatedHistoryIsValidUntilAReadIsBroken() {
        var h = simulated(seed: 1, keys: 5, processes: 10, seconds: 60, infoRate: 0.1)
        XCTAssertGreaterThan(h.count, 1500)
        let r = check(h)
        XCTAssertEqual(r.validity, .valid, "\(r.details)")

        let victim = h.indices.filter { h[$0].f == "read" && h[$0].outcome?.isOK == true }[500]
        let key = h[victim].value[0]!
        h[victim].outcome = .ok([key, 99])
        let bad = check(h)
        XCTAssertEqual(bad.validity, .invalid)
        XCTAssertEqual(bad.details["invalid-keys"], [key])
        XCTAssertEqual(bad.details["failures"]?[0]?["blocked-op"]?["index"], .int(victim))
    }

    func testSimulatedHistoriesAreValidAndAnImpossibleReadIsCaught() throws {
        for seed in 1...20 as ClosedRange<UInt64> {
            // One key, many processes: heavy overlap.
            var h = simulated(seed: seed, keys: 1, processes: 12, seconds: 5, infoRate: 0.15)
            let r = check(h)
            XCTAssertEqual(r.validity, .valid, "seed \(seed): \(r.details)")

            var rng = SplitMix64(seed: seed)
            let reads = h.indices.filter { h[$0].f == "read" && h[$0].outcome?.isOK == true }
            let victim = try XCTUnwrap(reads.randomElement(using: &rng))
            h[victim].outcome = .ok([0, 99])
            let bad = check(h)
            XCTAssertEqual(bad.validity, .invalid, "seed \(seed)")
            XCTAssertEqual(bad.details["failures"]?[0]?["blocked-op"]?["index"], .int(victim), "seed \(seed)")
        }
    }
}

import EVSimCore
import EVCheckers
import EVCore
@testable import EVSim
import Workloads
import XCTest

/// The harness itself: determinism, generator timing, workers, nemesis, final phase, the
/// standard checkers and topologies.
final class RunnerTests: XCTestCase {
    private func run(_ challenge: Challenge, seed: UInt64, _ adjust: ((inout TestSpec) -> Void)? = nil) -> TestResult {
        challenge.run(seed: seed, adjust: adjust)
    }

    // MARK: determinism

    func testSameSeedReplaysTheRunExactly() {
        let a = run(.uniqueIDs2, seed: 7) { $0.timeLimit = 2 }
        let b = run(.uniqueIDs2, seed: 7) { $0.timeLimit = 2 }
        XCTAssertEqual(a.traceHash, b.traceHash)
        XCTAssertGreaterThan(a.traceHash.messages, 1000)
        XCTAssertEqual(a.results.text, b.results.text)
        XCTAssertEqual(a.nemesisEvents.map(\.time), b.nemesisEvents.map(\.time))
        XCTAssertEqual(a.history.map(\.invokedAt), b.history.map(\.invokedAt))
    }

    func testDifferentSeedChangesTheRun() {
        let a = run(.uniqueIDs2, seed: 7) { $0.timeLimit = 2 }
        let c = run(.uniqueIDs2, seed: 8) { $0.timeLimit = 2 }
        XCTAssertNotEqual(a.traceHash, c.traceHash)
        XCTAssertNotEqual(a.history.map(\.invokedAt), c.history.map(\.invokedAt))
    }

    func testBroadcastWithPartitionsIsDeterministic() throws {
        let a = run(.broadcast3c, seed: 3)
        let b = run(.broadcast3c, seed: 3)
        XCTAssertEqual(a.traceHash, b.traceHash)
        XCTAssertEqual(a.results.text, b.results.text)
        XCTAssertNotEqual(a.traceHash, run(.broadcast3c, seed: 4).traceHash)
    }

    // MARK: generator and workers

    func testStaggerAveragesTheRateAndEveryOpIsRecorded() {
        // One closed-loop worker against a zero-latency echo: gaps are uniform [0, 2/rate].
        let result = run(.echo1, seed: 11) { $0.rate = 100; $0.timeLimit = 20 }
        let n = result.history.count
        XCTAssertEqual(Double(n), 2000, accuracy: 150)
        let gaps = zip(result.history.dropFirst(), result.history).map { Double($0.invokedAt - $1.invokedAt) / 1000 }
        XCTAssertLessThanOrEqual(gaps.max()!, 20)
        XCTAssertGreaterThanOrEqual(gaps.min()!, 0)
        XCTAssertEqual(gaps.reduce(0, +) / Double(gaps.count), 10, accuracy: 0.5)
        XCTAssertTrue(result.history.allSatisfy { $0.invokedAt < .seconds(20) })
        // Invocation and completion indices are a total order consistent with time.
        let indices = result.history.flatMap { [$0.invokeIndex, $0.completeIndex] }
        XCTAssertEqual(Set(indices).count, indices.count)
    }

    func testWorkersAreBoundToNodesAndClients() {
        let result = run(.uniqueIDs2, seed: 5) { $0.timeLimit = 2; $0.nemesis = [] ; $0.concurrency = .perNode(2) }
        XCTAssertEqual(Set(result.history.map(\.worker)), Set(0..<6))
        for op in result.history {
            XCTAssertEqual(op.node, "n\(op.worker % 3)")
            XCTAssertEqual(op.process, op.worker, "no :info, so no new processes")
        }
        let clientsPerWorker = Dictionary(grouping: result.history, by: \.worker).mapValues { Set($0.map(\.client)) }
        XCTAssertTrue(clientsPerWorker.values.allSatisfy { $0.count == 1 })
        XCTAssertEqual(Set(clientsPerWorker.values.flatMap { $0 }).count, 6, "each worker has its own client id")
    }

    func testNetCountsFollowMaelstromsDefinition() {
        // Echo: init + init_ok, then request + reply per op; msgs-per-op divides by invoked ops.
        // The node's start record is server traffic: echo, stateless, records nothing, so the
        // node reads its record once, a second after init (a lin-kv read and its reply).
        let result = run(.echo1, seed: 2)
        let ops = result.history.count
        let net = result.results["net"]!
        XCTAssertEqual(net["all"]?["msg-count"]?.int, 2 + 2 * ops + 2)
        XCTAssertEqual(net["clients"]?["send-count"]?.int, 2 + 2 * ops)
        XCTAssertEqual(net["servers"]?["msg-count"], 2)
        XCTAssertEqual(net["all"]?["msgs-per-op"], .double(StandardCheckers.rounded(Double(2 + 2 * ops + 2) / Double(ops), places: 4)))
        XCTAssertNil(net["clients"]?["msgs-per-op"])
    }

    /// A model that forgets to complete its operations.
    final class ForgetfulModel: WorkloadModel {
        let kind = WorkloadKind.echo
        func nextOperation(worker: Int, rng: inout SimRandom) -> (f: String, value: JSONValue) { ("echo", "x") }
        func execute(f: String, value: JSONValue, worker: Int,
                     call: @escaping (JSONValue, @escaping (JSONValue?) -> Void) -> Void,
                     complete: @escaping (Outcome) -> Void) {
            call(["type": "echo", "echo": value]) { _ in }
        }
        func check(_ history: [EVCheckers.Operation]) -> CheckResult { CheckResult(validity: .valid, details: ["valid?": true]) }
    }

    func testAnOperationThatNeverCompletesMakesTheRunInvalid() {
        var spec = TestSpec { ForgetfulModel() }
        spec.nodeCount = 1
        spec.timeLimit = 1
        let result = Runner(spec: spec).run()
        XCTAssertEqual(result.validity, .invalid)
        XCTAssertEqual(result.results["harness"]?["valid?"], false)
        XCTAssertEqual(result.history.count, 1)
        XCTAssertNil(result.history[0].outcome)
    }

    // MARK: standard checkers

    private func op(_ f: String, _ outcome: Outcome?) -> EVCheckers.Operation {
        var o = EVCheckers.Operation(process: 0, worker: 0, node: "n0", client: "c1", f: f, value: .null, invokedAt: 0)
        o.completedAt = 1
        o.outcome = outcome
        return o
    }

    func testStatsAreInvalidWhenSomeFunctionNeverSucceeded() {
        let ok = StandardCheckers.stats([op("add", .ok(.null)), op("read", .fail("x")), op("read", .info("y"))])
        XCTAssertEqual(ok.validity, .invalid)
        XCTAssertEqual(ok.details["by-f"]?["read"]?["valid?"], false)
        XCTAssertEqual(ok.details["by-f"]?["add"]?["ok-count"], 1)
        XCTAssertEqual(ok.details["fail-count"], 1)
        XCTAssertEqual(ok.details["info-count"], 1)
        XCTAssertEqual(StandardCheckers.stats([op("add", .ok(.null)), op("read", .ok(.null))]).validity, .valid)
        XCTAssertEqual(StandardCheckers.stats([op("crash", .info("x")), op("read", .ok(.null))], exempt: ["crash"]).validity, .valid)
    }

    func testAvailabilityTotalAndFraction() {
        let history = [op("a", .ok(.null)), op("a", .ok(.null)), op("a", .ok(.null)), op("a", .fail("x"))]
        XCTAssertEqual(StandardCheckers.availability(history, requirement: .total).validity, .invalid)
        XCTAssertEqual(StandardCheckers.availability(history, requirement: .fraction(0.75)).validity, .valid)
        XCTAssertEqual(StandardCheckers.availability(history, requirement: .fraction(0.8)).validity, .invalid)
        XCTAssertEqual(StandardCheckers.availability(history, requirement: .none).validity, .valid)
        XCTAssertEqual(StandardCheckers.availability(history, requirement: .none).details["ok-fraction"], .double(0.75))
    }

    // MARK: nemesis

    private func components(_ pairs: Set<SimNetwork.Pair>, _ nodes: [String]) -> [String: Set<String>] {
        var hears: [String: Set<String>] = [:]
        for r in nodes { hears[r] = Set(nodes.filter { !pairs.contains(SimNetwork.Pair(receiver: r, sender: $0)) }) }
        return hears
    }

    func testPartitionShapes() {
        var rng = SimRandom(seed: 1)
        let five = (0..<5).map { "n\($0)" }, twentyFive = (0..<25).map { "n\($0)" }
        for nodes in [five, twentyFive] {
            let n = nodes.count
            for shape in PartitionShape.allCases {
                let pairs = shape.grudge(nodes: nodes, rng: &rng)
                let hears = components(pairs, nodes)
                XCTAssertTrue(pairs.allSatisfy { $0.receiver.hasPrefix("n") && $0.sender.hasPrefix("n") })
                let sizes = hears.values.map(\.count).sorted()
                switch shape {
                case .one:
                    XCTAssertEqual(sizes, [1] + Array(repeating: n - 1, count: n - 1))
                case .minorityThird:
                    let k = (n - 1) / 3 // 1 of 5, 8 of 25
                    XCTAssertEqual(sizes, Array(repeating: k, count: k) + Array(repeating: n - k, count: n - k))
                case .majority:
                    XCTAssertEqual(sizes, Array(repeating: n / 2, count: n / 2) + Array(repeating: n - n / 2, count: n - n / 2))
                case .majoritiesRing:
                    XCTAssertTrue(sizes.allSatisfy { $0 == n / 2 + 1 }, "every node hears exactly a majority")
                    // Views overlap but are not one component: non-transitive.
                    XCTAssertGreaterThan(Set(hears.values).count, 2)
                }
                // Odd majorities: every grudge is symmetric (bidirectional).
                for p in pairs { XCTAssertTrue(pairs.contains(SimNetwork.Pair(receiver: p.sender, sender: p.receiver))) }
            }
        }
    }

    func testNemesisAlternatesWithinTheMainPhaseAndHealsBeforeTheFinalReads() throws {
        let result = run(.broadcast3c, seed: 21) { $0.timeLimit = 60 }
        let events = result.nemesisEvents
        XCTAssertGreaterThanOrEqual(events.count, 3)
        XCTAssertEqual(events.first?.time, result.phases.loadStart, "Jepsen's stagger starts at once")
        for (i, e) in events.enumerated() {
            XCTAssertEqual(e.action, i % 2 == 0 ? .startPartition : .stopPartition)
            XCTAssertLessThanOrEqual(e.time, result.phases.loadDrained, "the nemesis stops with the main phase")
        }
        XCTAssertEqual(events.last?.action, .stopPartition, "healed before the final phase")
        let scheduled = events.filter { $0.time < result.phases.loadStop }
        for (a, b) in zip(scheduled, scheduled.dropFirst()) {
            XCTAssertLessThanOrEqual(b.time - a.time, .seconds(20), "gaps are uniform in [0, 2 × interval]")
        }
        // Final phase: heal, 10 s of quiet, then one final read per worker.
        let finalStart = try XCTUnwrap(result.phases.finalStart)
        XCTAssertEqual(finalStart - result.phases.loadDrained, .seconds(10))
        let finals = result.history.filter(\.isFinal)
        XCTAssertEqual(finals.count, 5)
        XCTAssertEqual(Set(finals.map(\.node)), Set((0..<5).map { "n\($0)" }))
        XCTAssertTrue(finals.allSatisfy { $0.f == "read" && $0.invokedAt == finalStart })
        XCTAssertTrue(result.history.filter { !$0.isFinal }.allSatisfy { $0.invokedAt < result.phases.loadStop })
    }

    // MARK: topology (reference §7.1 worked examples)

    private func topo(_ t: Topology, _ n: Int) -> [String: [String]] {
        Dictionary(uniqueKeysWithValues: t.neighbours(of: (0..<n).map { "n\($0)" }).map { ($0.node, $0.neighbours) })
    }

    func testGridTopology() {
        let g = topo(.grid, 25)
        XCTAssertEqual(g["n0"], ["n5", "n1"])
        XCTAssertEqual(g["n6"], ["n11", "n1", "n7", "n5"])
        XCTAssertEqual(g["n24"], ["n19", "n23"])
        let five = topo(.grid, 5)
        XCTAssertEqual(five["n0"], ["n3", "n1"])
        XCTAssertEqual(five["n1"], ["n4", "n2", "n0"])
        XCTAssertEqual(five["n2"], ["n1"])
        XCTAssertEqual(five["n3"], ["n0", "n4"])
        XCTAssertEqual(five["n4"], ["n1", "n3"])
        XCTAssertEqual(topo(.grid, 1)["n0"], [])
    }

    func testTreeLineTotalTopologies() {
        let t4 = topo(.tree(branching: 4), 25)
        XCTAssertEqual(t4["n0"], ["n1", "n2", "n3", "n4"])
        XCTAssertEqual(t4["n1"], ["n0", "n5", "n6", "n7", "n8"])
        XCTAssertEqual(t4["n2"], ["n0", "n9", "n10", "n11", "n12"])
        XCTAssertEqual(t4["n4"], ["n0", "n17", "n18", "n19", "n20"])
        XCTAssertEqual(t4["n5"], ["n1", "n21", "n22", "n23", "n24"])
        XCTAssertEqual(t4["n6"], ["n1"])
        XCTAssertEqual(t4["n24"], ["n5"])
        let t2 = topo(Topology(name: "tree")!, 7)
        XCTAssertEqual(t2["n0"], ["n1", "n2"])
        XCTAssertEqual(t2["n2"], ["n0", "n5", "n6"])
        let line = topo(.line, 4)
        XCTAssertEqual(line["n0"], ["n1"])
        XCTAssertEqual(line["n2"], ["n1", "n3"])
        XCTAssertEqual(line["n3"], ["n2"])
        XCTAssertTrue(topo(.line, 1).isEmpty)
        XCTAssertEqual(topo(.total, 3)["n1"], ["n0", "n2"])
        XCTAssertEqual(Topology.grid.json(for: ["n0", "n1"]).text, #"{"n0":["n1"],"n1":["n0"]}"#)
    }
}

import EVCheckers
import EVCore
import EVReports
import EVSim
import EVSimCore
import Logging
import Workloads
import XCTest

/// Start skew (docs/evsim.md, "Start skew"): init arrival offsets, post-init stalls and kv service
/// delays drawn from the seed, on for every runner-driven challenge run.
final class StartSkewTests: XCTestCase {
    /// The draws of one cluster of `nodeCount` evnode nodes after `initialize`.
    private func draws(seed: UInt64, nodeCount: Int = 5, skew: StartSkew = .maelstrom)
        -> (offsets: [Micros], stalls: [Micros], cluster: Cluster) {
        var config = ClusterConfig(nodeCount: nodeCount, seed: seed)
        config.startSkew = skew
        let cluster = Cluster(config)
        XCTAssertEqual(cluster.initialize(), [])
        let offsets = cluster.nodeIDs.map { cluster.startOffsets[$0] ?? 0 }
        let stalls = cluster.nodeIDs.map { cluster.stalls[$0]?.first ?? 0 }
        return (offsets, stalls, cluster)
    }

    func testDrawsAreDeterministicPerSeedAndHaveTheDocumentedSpread() {
        let usual = Micros.ms(0)...Micros.ms(5), slow = Micros.ms(20)...Micros.ms(150)
        var all: [Micros] = []
        var longSeeds = 0
        for seed in UInt64(1)...40 {
            let a = draws(seed: seed), b = draws(seed: seed)
            XCTAssertEqual(a.offsets, b.offsets, "seed \(seed): same offsets")
            XCTAssertEqual(a.stalls, b.stalls, "seed \(seed): same stalls")
            XCTAssertGreaterThan(Set(a.offsets).count, 1, "seed \(seed): nodes do not all start at once")
            for d in a.offsets + a.stalls {
                XCTAssertTrue(usual.contains(d) || slow.contains(d), "seed \(seed): \(d) µs outside both ranges")
            }
            if (a.offsets + a.stalls).contains(where: { slow.contains($0) }) { longSeeds += 1 }
            all += a.offsets + a.stalls
            // The stall is not a fault, and the node answered init before it.
            XCTAssertEqual(a.cluster.faultCounts, Cluster.FaultCounts())
        }
        XCTAssertNotEqual(draws(seed: 1).offsets, draws(seed: 2).offsets, "the seed decides")
        // 400 draws, one in eight slow: expect ≈ 50.
        let slowCount = all.filter { slow.contains($0) }.count
        XCTAssertTrue((25...80).contains(slowCount), "\(slowCount) slow draws of \(all.count)")
        XCTAssertGreaterThan(longSeeds, 10, "many seeds have a long offset or stall")
        XCTAssertLessThan(longSeeds, 40, "not every seed does")
    }

    func testOffDrawsNothingAndStartsEveryNodeAtOnce() {
        let (offsets, stalls, cluster) = draws(seed: 3, skew: .off)
        XCTAssertEqual(offsets, Array(repeating: 0, count: 5))
        XCTAssertEqual(stalls, Array(repeating: 0, count: 5))
        XCTAssertEqual(cluster.now, 0, "every init answered at time 0")
        XCTAssertEqual(ClusterSettings().startSkew, .off, "a bare cluster starts at one instant")
        XCTAssertEqual(TestSpec(makeModel: { EchoModel() }).startSkew, .maelstrom, "challenge runs are skewed")
    }

    /// A stalled node answered init, but its timers (the registry read) and messages wait until the
    /// stall ends; then the backlog runs, and no nemesis pause is counted.
    func testAStalledNodeRunsNothingUntilItsStallEnds() throws {
        let seed = try XCTUnwrap((UInt64(1)...200).first { s in
            let d = draws(seed: s, nodeCount: 2)
            return d.stalls.contains { $0 >= .ms(40) }
        }, "some seed stalls a node ≥ 40 ms")
        let (offsets, stalls, cluster) = draws(seed: seed, nodeCount: 2)
        let i = stalls.firstIndex { $0 >= .ms(40) }!
        let node = cluster.nodes[i]
        let stallEnds = offsets[i] + stalls[i]
        XCTAssertTrue(node.isStalled, "init answered at \(cluster.now) µs, stalled until \(stallEnds) µs")
        XCTAssertFalse(node.isPaused)
        XCTAssertLessThan(cluster.now, stallEnds)
        var answeredAt: Micros?
        cluster.newClient().call(node.id, ["type": "echo", "echo": "hi"]) { reply in
            if reply?["type"] == "echo_ok" { answeredAt = cluster.now }
        }
        cluster.run(for: .ms(200))
        XCTAssertFalse(node.isStalled)
        XCTAssertEqual(answeredAt, stallEnds, "the echo waited for the stall to end")
        XCTAssertEqual(cluster.faultCounts, Cluster.FaultCounts())
    }

    func testKVServiceRepliesAreDelayedButLinKVStaysLinearizable() {
        var config = ClusterConfig(nodeCount: 1, seed: 5)
        config.startSkew = .maelstrom
        let cluster = Cluster(config)
        let client = cluster.newClient()
        var delays: [Micros] = []
        for i in 0..<200 {
            let sent = cluster.now
            client.call("lin-kv", ["type": "write", "key": "k", "value": .int(i)]) { _ in delays.append(cluster.now - sent) }
            // Applied at receipt, so its point lies inside the request/reply window; only the reply waits.
            cluster.run(until: { cluster.linKV["k"] == .int(i) }, limit: .seconds(1))
            XCTAssertEqual(delays.count, i, "write \(i) applied before its reply went out")
            cluster.run(until: { delays.count == i + 1 }, limit: .seconds(1))
        }
        XCTAssertTrue(delays.allSatisfy { (50...Micros.ms(1)).contains($0) || (Micros.ms(5)...Micros.ms(50)).contains($0) })
        XCTAssertGreaterThan(Set(delays).count, 100, "drawn per reply")
    }

    // MARK: the init-time registry race, fixed by per-process start records

    /// The Datomic command (`-w txn-list-append --node-count 2 --time-limit 10 --rate 100`), seed 1.
    /// With the old cluster-wide registry (`evnode/workload`, read at init) n1 took the first txn
    /// and wrote the key before n0's init-time read went out (n0 still stalled after its
    /// init_ok); n0 believed it was a restart, never voted, and with two nodes no leader was
    /// elected: `:ok-count 0, :fail-count 8`, and n0 logged "txn-list-append ran here before this
    /// process: rejoining" at 0.008053 s. A process's own start record cannot mistake a peer for
    /// a predecessor.
    func testTxnListAppendFreshClusterNeverRejoinsSeed1() {
        assertNoRestart(Challenge.txnListAppend, seed: 1)
    }

    /// lin-kv without faults (3 nodes, `--concurrency 4n --time-limit 60 --rate 30`), seed 31: the
    /// same race took n0 and n2 (at 0.006425 s and 0.007179 s); only n1 voted, no majority, every
    /// op failed.
    func testLinKVFreshClusterNeverRejoinsSeed31() {
        assertNoRestart(Challenge.linKVNoFault, seed: 31)
    }

    /// Restart detection still right under kills, in both modes: processes started by the
    /// nemesis know they are restarts (at most one "restart:" line per start, and some), and
    /// before any kill nobody does.
    func testProcessesStartedAfterAKillKnowTheyAreRestartsInBothModes() {
        for durable in [false, true] {
            var spec = Challenge.linKV3.spec
            spec.seed = 3
            spec.timeLimit = 20
            spec.nemesis = [.kill]
            spec.nemesisInterval = 3
            spec.workloads.durability.enabled = durable
            spec.logLevel = .notice
            let runner = Runner(spec: spec)
            let result = runner.run()
            XCTAssertEqual(result.validity, .valid, "durable \(durable)")
            let restarts = runner.cluster.logs.lines.filter { $0.contains("] restart: ") }
            let starts = runner.cluster.faultCounts.starts
            XCTAssertGreaterThan(starts, 0, "the nemesis restarted processes (durable \(durable))")
            XCTAssertTrue((1...starts).contains(restarts.count), "\(restarts.count) restarts logged for \(starts) starts (durable \(durable))")
        }
    }

    private func assertNoRestart(_ challenge: Challenge, seed: UInt64, file: StaticString = #filePath, line: UInt = #line) {
        var spec = challenge.spec
        spec.seed = seed
        spec.logLevel = .notice
        let runner = Runner(spec: spec)
        let result = runner.run()
        XCTAssertEqual(result.validity, .valid, ResultFormat.edn(result.results, elide: 8), file: file, line: line)
        let restarts = runner.cluster.logs.lines.filter { $0.contains("] restart: ") }
        XCTAssertEqual(restarts, [], "a node of a fresh cluster (no kill) took itself for a restart", file: file, line: line)
        for node in runner.cluster.nodes {
            XCTAssertEqual(node.router?.isRestart, false, "\(node.id) knows it started fresh", file: file, line: line)
        }
    }
}

import EVCore
import EVReports
import EVCheckers
import EVSim
import EVSimCore
import Workloads
import XCTest

/// Every workload under Maelstrom's kill and pause nemeses (reference §5.5), in default and durable
/// mode. Shortened versions of the challenges (lower rates, shorter runs, a 3 s nemesis interval so
/// that several faults happen), a few seeds each.
///
/// What must hold: every run completes; under pause (both modes) and under kill in durable mode the
/// run is valid, loses nothing acknowledged and silences no node; under kill in default mode (state
/// is in memory only) unique-ids and txn stay valid and the harness really killed and restarted nodes.
///
/// Node-side work these wait for (evnode, not the simulator): a resumed node must not answer the
/// requests that waited through its pause (else `:undeliverable`); a restarted node learns its
/// workload only from its first message, so in durable mode a final `read` can reach a node that
/// has not recovered yet (g-counter reads go down) or guess the wrong workload for `read`
/// (broadcast gets a g-counter `read_ok`).
final class ProcessNemesisTests: XCTestCase {
    static let seeds: [UInt64] = [1, 2]

    /// The challenge of each storing workload, shortened. No `--availability total`: a request to a
    /// dead or paused node times out by design.
    static func spec(_ challenge: Challenge, nemesis: Set<NemesisKind>, durable: Bool, seed: UInt64) -> TestSpec {
        var spec = challenge.spec
        spec.seed = seed
        spec.timeLimit = 15
        spec.rate = min(spec.rate, 100)
        spec.availability = .none
        spec.nemesis = nemesis
        spec.nemesisInterval = 3
        spec.workloads.durability.enabled = durable
        return spec
    }

    static let challenges: [Challenge] = [.uniqueIDs2, .broadcast3b, .gSet, .gCounter4, .pnCounter, .kafka5b, .txn6b]

    /// Runs one workload × fault × mode over the seeds; returns the results.
    private func runs(_ challenge: Challenge, _ fault: NemesisKind, durable: Bool) -> [TestResult] {
        Self.seeds.map { seed in
            let result = Runner(spec: Self.spec(challenge, nemesis: [fault], durable: durable, seed: seed)).run()
            let label = "\(challenge.name) \(fault) \(durable ? "durable" : "default") seed \(seed)"
            XCTAssertNil(result.results["harness"], "\(label): the run did not complete")
            XCTAssertNil(result.results["setup"], label)
            XCTAssertEqual(result.results["nemesis"]?["restart-init-failures"], [], label)
            return result
        }
    }

    /// Valid, nothing acknowledged lost, no node silenced, every invariant.
    private func assertSafe(_ results: [TestResult], _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        for r in results {
            let what = "\(label) seed \(r.spec.seed) (replay: evsim … --seed \(r.spec.seed))"
            XCTAssertEqual(r.validity, .valid, "\(what): \(ResultFormat.edn(r.results["workload"] ?? .null, elide: 4))", file: file, line: line)
            XCTAssertEqual(FaultFigures.lost(r) ?? 0, 0, "\(what): acknowledged data lost", file: file, line: line)
            XCTAssertEqual(r.undeliverable.count, 0, "\(what): a node answered a removed client", file: file, line: line)
            XCTAssertEqual(r.brokenInvariants.map(\.name), [], what, file: file, line: line)
        }
    }

    /// Found while measuring (`evsim 4 --seed 2 --nemesis kill --durable --nemesis-interval 5`):
    /// every node killed and restarted, and a node's read dropped below an earlier one, because a
    /// restarted process had recovered only its own stored adds. Recovery now reads every node's
    /// store before a read is answered.
    func testDurableCounterReadsNeverGoDownOnANodeAfterEveryNodeWasKilled() {
        let result = Challenge.gCounter4.run(seed: 2) { spec in
            spec.nemesis = [.kill]
            spec.nemesisInterval = 5
            spec.workloads.durability.enabled = true
        }
        XCTAssertEqual(result.validity, .valid)
        XCTAssertEqual(result.invariants.map(\.name), ["g-counter reads never go down on a node"])
        XCTAssertEqual(result.brokenInvariants.map(\.name), [], "\(result.brokenInvariants)")
    }

    func testPauseDefaultMode() {
        for c in Self.challenges { assertSafe(runs(c, .pause, durable: false), "\(c.name) pause default") }
    }

    func testPauseDurableMode() {
        for c in Self.challenges { assertSafe(runs(c, .pause, durable: true), "\(c.name) pause durable") }
    }

    func testKillDurableMode() {
        for c in Self.challenges { assertSafe(runs(c, .kill, durable: true), "\(c.name) kill durable") }
    }

    func testKillDefaultModeKeepsUniqueIDsAndTxnValidAndRestartsNodes() {
        var kills = 0
        for c in Self.challenges {
            let results = runs(c, .kill, durable: false)
            for r in results {
                let nemesis = r.results["nemesis"]
                let killed = nemesis?["kill-count"]?.int ?? -1
                kills += killed
                // Every killed process was replaced by a fresh one by the end.
                XCTAssertEqual(nemesis?["start-count"]?.int, killed, "\(c.name) seed \(r.spec.seed)")
                XCTAssertEqual(nemesis?["pause-count"]?.int, 0)
                if c.workload == .uniqueIDs || c.workload == .txn {
                    XCTAssertEqual(r.validity, .valid, "\(c.name) kill default seed \(r.spec.seed)")
                }
            }
        }
        XCTAssertGreaterThan(kills, 10, "the nemesis kills nodes")
    }

    /// Echo has nothing to lose: under both faults its runs complete, and a pause shows as
    /// timeouts (which the echo checker counts as mismatches).
    func testEchoCompletesUnderKillAndPause() {
        for fault in [NemesisKind.kill, .pause] {
            var spec = Challenge.echo1.spec
            spec.timeLimit = 20
            spec.nemesis = [fault]
            spec.nemesisInterval = 3
            let r = Runner(spec: spec).run()
            XCTAssertNil(r.results["harness"])
            XCTAssertGreaterThan(r.nemesisEvents.count, 0)
        }
    }

    // MARK: the harness

    /// Answers echo at once, whatever happened to it: no pause detection.
    /// Answers with `send`, writing `in_reply_to` itself, so `Node`'s stall detection and reply
    /// deadline (which `reply` applies) do not protect it: a node without them.
    final class NaiveEcho: MessageHandler {
        func nodeDidInit(_ node: Node) {}
        func handle(_ message: Message, node: Node) {
            guard let msgID = message.msgID else { return }
            let value = message.body["echo"].value ?? .null
            node.send(to: message.src) { w in
                w.field("type", "echo_ok")
                w.field("in_reply_to", msgID)
                w.field("echo", value)
            }
        }
    }

    /// Echo for 30 s with a pause every 5 s on average.
    static func echoUnderPauses(seed: UInt64) -> TestSpec {
        var spec = Challenge.echo1.spec
        spec.seed = seed
        spec.timeLimit = 30
        spec.nemesis = [.pause]
        spec.nemesisInterval = 5
        return spec
    }

    /// The same run with evnode's echo: its stall detection keeps it from answering clients that
    /// gave up during a pause, so no seed silences it.
    func testEvnodeIsNotSilencedByPauses() {
        for seed: UInt64 in 1...3 {
            let r = Runner(spec: Self.echoUnderPauses(seed: seed)).run()
            XCTAssertEqual(r.undeliverable.count, 0, "seed \(seed)")
            XCTAssertGreaterThan(r.nemesisEvents.filter { $0.action == .resume }.count, 0, "seed \(seed): it was paused")
        }
    }

    /// A node resumed after a pause longer than the client timeout answers a client that is gone:
    /// `:undeliverable` fires, as Maelstrom silences such a node.
    func testLateReplyAfterResumeSilencesTheNode() {
        var silenced = 0
        for seed: UInt64 in 1...3 {
            var spec = Self.echoUnderPauses(seed: seed)
            spec.handlerFactory = { _ in NaiveEcho() }
            let r = Runner(spec: spec).run()
            if r.undeliverable.isEmpty { continue }
            silenced += 1
            XCTAssertEqual(r.validity, .invalid)
            XCTAssertEqual(r.results["undeliverable"]?["valid?"], false)
            XCTAssertTrue(r.undeliverable.allSatisfy { $0.src == "n0" && SimNetwork.isClient($0.dest) })
            // Sent at a resume instant.
            let resumes = Set(r.nemesisEvents.filter { $0.action == .resume }.map(\.time))
            XCTAssertTrue(r.undeliverable.allSatisfy { resumes.contains($0.sentAt) })
        }
        XCTAssertGreaterThan(silenced, 0)
    }

    func testSameSeedReplaysTheSameTraceWithEveryFault() {
        func run(_ seed: UInt64) -> TestResult {
            Runner(spec: Self.spec(.broadcast3b, nemesis: [.partition, .kill, .pause], durable: true, seed: seed)).run()
        }
        let a = run(5), b = run(5), c = run(6)
        XCTAssertEqual(a.traceHash, b.traceHash)
        XCTAssertEqual(a.results.text, b.results.text)
        XCTAssertEqual(a.nemesisEvents.map(\.summary), b.nemesisEvents.map(\.summary))
        XCTAssertNotEqual(a.traceHash.value, c.traceHash.value)
        XCTAssertTrue(a.nemesisEvents.contains { $0.action == .kill || $0.action == .pause })
    }

    func testNemesisScheduleAndFinalRecovery() {
        let spec = Self.spec(.gCounter4, nemesis: [.kill, .pause], durable: false, seed: 3)
        let r = Runner(spec: spec).run()
        let ops = r.nemesisEvents
        XCTAssertFalse(ops.isEmpty)
        // Ops alternate per flip-flop: kill … start, pause … resume.
        var killed = false, paused = false
        for e in ops where e.time < r.phases.loadStop {
            switch e.action {
            case .kill: XCTAssertFalse(killed); killed = true
            case .start: XCTAssertTrue(killed); killed = false
            case .pause: XCTAssertFalse(paused); paused = true
            case .resume: XCTAssertTrue(paused); paused = false
            default: XCTFail("no partitions asked for")
            }
            if e.action == .kill || e.action == .pause { XCTAssertNotNil(e.target); XCTAssertEqual(e.nodes.isEmpty, e.target == .minorityThird) }
        }
        // The final phase resumes and starts everything before the recovery wait.
        let finalOps = ops.filter { $0.time == r.phases.loadDrained }.map(\.action)
        XCTAssertEqual(finalOps, [.resume, .start])
        XCTAssertEqual(r.results["nemesis"]?["ops"]?.array?.count, ops.count)
        XCTAssertTrue(r.spec.maelstromArguments(workload: .gCounter).contains("--nemesis kill,pause --nemesis-interval 3"))
    }

    func testTargetsHaveJepsenSizes() {
        var rng = SimRandom(seed: 1)
        let nodes = (0..<5).map { "n\($0)" }
        XCTAssertEqual(ProcessTarget.one.nodes(nodes, rng: &rng).count, 1)
        XCTAssertEqual(ProcessTarget.minorityThird.nodes(nodes, rng: &rng).count, 1)
        XCTAssertEqual(ProcessTarget.minority.nodes(nodes, rng: &rng).count, 2)
        XCTAssertEqual(ProcessTarget.majority.nodes(nodes, rng: &rng).count, 3)
        XCTAssertEqual(ProcessTarget.all.nodes(nodes, rng: &rng), nodes)
        for _ in 0..<50 { XCTAssertTrue((1...5).contains(ProcessTarget.subset.nodes(nodes, rng: &rng).count)) }
        XCTAssertEqual(NemesisKind.parse("partition,kill,pause"), [.partition, .kill, .pause])
        XCTAssertEqual(NemesisKind.parse("none"), [])
        XCTAssertNil(NemesisKind.parse("partition,crash"))
    }
}

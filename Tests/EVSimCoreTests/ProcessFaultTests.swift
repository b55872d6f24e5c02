import EVCore
import EVSimCore
import XCTest

/// The process faults of reference §5.5 at the core: kill, start, pause, resume.
final class ProcessFaultTests: XCTestCase {
    /// What every process did, in order: one shared log for the whole cluster.
    final class Recorder {
        struct Entry: Equatable {
            let node: String
            let incarnation: Int
            let what: String
            let at: Micros
        }
        var entries: [Entry] = []
        var inits: [(node: String, incarnation: Int, nodeIDs: [String], wallClock: Micros)] = []
        func of(_ node: String, _ incarnation: Int) -> [String] {
            entries.filter { $0.node == node && $0.incarnation == incarnation }.map(\.what)
        }
    }

    /// A tick every 100 ms and one timer 1 s after init; `note` requests are logged and answered.
    final class ProbeHandler: MessageHandler {
        let recorder: Recorder
        let incarnation: Int
        init(recorder: Recorder, incarnation: Int) {
            self.recorder = recorder
            self.incarnation = incarnation
        }

        func nodeDidInit(_ node: Node) {
            recorder.inits.append((node.id, incarnation, node.nodeIDs, node.wallClock))
            node.every(.ms(100)) { [unowned self, unowned node] in log(node, "tick") }
            node.after(.ms(1000)) { [unowned self, unowned node] in log(node, "once") }
        }

        func handle(_ message: Message, node: Node) {
            guard let req = message.request else { return }
            log(node, "note \(message.body["n"].value?.int ?? -1)")
            node.reply(to: req, type: "note_ok")
        }

        private func log(_ node: Node, _ what: String) {
            recorder.entries.append(.init(node: node.id, incarnation: incarnation, what: what, at: node.now))
        }
    }

    private func cluster(_ recorder: Recorder, latency: Micros = .ms(100)) -> Cluster {
        var incarnations: [String: Int] = [:]
        let c = Cluster(ClusterSettings(nodeCount: 3, latency: latency, seed: 7)) { id in
            incarnations[id, default: 0] += 1
            return ProbeHandler(recorder: recorder, incarnation: incarnations[id]!)
        }
        XCTAssertEqual(c.initialize(), [])
        return c
    }

    /// A note from a fresh client (zero latency), answered or not within `timeout`.
    private func note(_ c: Cluster, _ node: String, _ n: Int, timeout: Micros = .seconds(60),
                      replies: @escaping (JSONValue?) -> Void = { _ in }) {
        c.newClient().call(node, ["type": "note", "n": .int(n)], timeout: timeout, replies)
    }

    func testPausedNodeGetsItsBacklogOnResumeAfterItsOverdueTimers() {
        let r = Recorder()
        let c = cluster(r)
        c.run(for: .ms(250)) // two ticks, at 0.1 and 0.2 s
        XCTAssertTrue(c.pause("n1"))
        XCTAssertFalse(c.pause("n1"), "already paused")
        let pausedAt = c.now
        let before = r.of("n1", 1).count
        var replies: [Int] = []
        c.run(for: .seconds(1))
        note(c, "n1", 1) { if $0 != nil { replies.append(1) } }
        c.run(for: .seconds(1))
        note(c, "n1", 2) { if $0 != nil { replies.append(2) } }
        // Resumed 3 s after the pause began: the notes waited less than a client's 5 s, so the
        // node's stall detection lets it answer them (after a longer pause it would not).
        c.run(for: .seconds(1))
        XCTAssertEqual(r.of("n1", 1).count, before, "nothing runs while paused")
        XCTAssertEqual(c.node("n1").backlogCount, 2)
        XCTAssertEqual(replies, [])
        XCTAssertGreaterThan(r.of("n0", 1).count, before, "the other nodes go on")

        let resumedAt = c.now
        XCTAssertTrue(c.resume("n1"))
        c.run(for: .ms(1))
        let after = r.entries.filter { $0.node == "n1" && $0.at >= pausedAt }
        XCTAssertTrue(after.allSatisfy { $0.at == resumedAt }, "everything runs at the resume instant, on the global clock")
        // The tick due 0.05 s into the pause comes before the notes that arrived 1 s and 2 s into
        // it; the 1 s timer fires in the same batch; the tick overdue by many periods fires at
        // most twice (re-armed at now).
        let whats = after.map(\.what)
        XCTAssertEqual(whats.first, "tick")
        XCTAssertEqual(whats.filter { $0.hasPrefix("note") }, ["note 1", "note 2"])
        XCTAssertLessThan(whats.firstIndex(of: "once")!, whats.firstIndex(of: "note 1")!)
        XCTAssertLessThanOrEqual(whats.filter { $0 == "tick" }.count, 2)
        XCTAssertEqual(replies, [1, 2], "the backlog is answered in arrival order")
        XCTAssertEqual(c.node("n1").backlogCount, 0)
        // Then the node runs on normally.
        c.run(for: .ms(500))
        XCTAssertGreaterThanOrEqual(r.entries.filter { $0.node == "n1" && $0.at > resumedAt && $0.what == "tick" }.count, 4)
        XCTAssertEqual(c.faultCounts, Cluster.FaultCounts(kills: 0, starts: 0, pauses: 1, resumes: 1))
    }

    func testKilledNodeNeverRunsAgainAndWhatIsSentToItIsLost() {
        let r = Recorder()
        let c = cluster(r)
        c.run(for: .ms(250))
        // A peer message in flight (100 ms latency) when the node dies.
        c.network.send(from: "n0", to: "n1", text: #"{"src":"n0","dest":"n1","body":{"type":"note","n":0,"msg_id":1}}"#)
        c.run(for: .ms(50))
        XCTAssertTrue(c.kill("n1"))
        XCTAssertFalse(c.kill("n1"), "already dead")
        XCTAssertFalse(c.isAlive("n1"))
        XCTAssertTrue(c.network.isRegistered("n1"), "a dead node stays on the network")
        let firstLife = r.of("n1", 1)
        var answered: [Bool] = []
        note(c, "n1", 1, timeout: .seconds(5)) { answered.append($0 != nil) }
        c.run(for: .seconds(6))
        XCTAssertEqual(answered, [false], "a request to a dead node times out")
        XCTAssertEqual(r.of("n1", 1), firstLife, "no timer or handler of the killed process runs")
        XCTAssertFalse(firstLife.contains("once"))
        XCTAssertEqual(c.network.queuedCount("n1"), 1, "what is sent to a dead node piles up")
        XCTAssertTrue(c.messagesToMissingIDs.isEmpty, "a dead node is not an invalid destination")
    }

    func testStartBuildsAFreshProcessAndReinitsItWithTheSameIDs() {
        let r = Recorder()
        let c = cluster(r)
        c.run(for: .ms(250))
        XCTAssertFalse(c.start("n2"), "start on a live node does nothing")
        XCTAssertEqual(r.inits.count, 3)
        let oldProcess = c.node("n2")
        c.network.send(from: "n0", to: "n2", text: #"{"src":"n0","dest":"n2","body":{"type":"note","n":7,"msg_id":1}}"#)
        c.run(for: .ms(10))
        c.kill("n2")
        note(c, "n2", 8, timeout: .seconds(1))
        c.run(for: .ms(20))
        var initialized: Bool?
        XCTAssertTrue(c.start("n2") { initialized = $0 })
        c.run(for: .seconds(2))
        XCTAssertEqual(initialized, true)
        XCTAssertFalse(c.node("n2") === oldProcess, "a new SimNode")
        XCTAssertTrue(c.isAlive("n2"))
        XCTAssertEqual(r.inits.count, 4)
        let again = r.inits[3]
        XCTAssertEqual(again.node, "n2")
        XCTAssertEqual(again.incarnation, 2)
        XCTAssertEqual(again.nodeIDs, ["n0", "n1", "n2"])
        XCTAssertGreaterThan(again.wallClock, r.inits[2].wallClock, "the wall clock moved on")
        // Neither the message in flight at the kill nor the one sent while dead reaches the new process.
        XCTAssertFalse(r.of("n2", 2).contains { $0.hasPrefix("note") })
        XCTAssertTrue(r.of("n2", 2).contains("tick"))
        XCTAssertTrue(r.of("n2", 2).contains("once"))
        // The new process answers requests; init_ok went to the harness, not to a closed client.
        var reply: JSONValue?
        note(c, "n2", 9) { reply = $0 }
        c.run(for: .ms(10))
        XCTAssertEqual(reply?["type"], "note_ok")
        XCTAssertTrue(c.messagesToMissingIDs.isEmpty)
        XCTAssertEqual(c.faultCounts, Cluster.FaultCounts(kills: 1, starts: 1, pauses: 0, resumes: 0))
    }

    func testKillingAPausedNodeDropsItsBacklog() {
        let r = Recorder()
        let c = cluster(r, latency: 0)
        c.pause("n0")
        note(c, "n0", 1)
        c.run(for: .ms(10))
        XCTAssertEqual(c.node("n0").backlogCount, 1)
        c.kill("n0")
        XCTAssertFalse(c.resume("n0"), "a dead node cannot be resumed")
        c.start("n0")
        c.run(for: .seconds(1))
        XCTAssertFalse(r.entries.contains { $0.node == "n0" && $0.what.hasPrefix("note") })
    }
}

import EVCore
import Workloads
import XCTest

/// The replication layer on its own, over `ChaosNet`: loss, duplication, reordering, partitions and
/// restarts, many seeds. After every run: each link delivered exactly the entries its peer appended
/// for it, once, in order, and nothing is kept once acknowledged. A failing seed is named in the
/// assertion message, so it can be replayed.
final class ReplicatorTests: XCTestCase {
    /// A node whose only job is replicating ints to every peer, recording every delivery.
    final class Peer: MessageHandler {
        let flushInterval: Micros
        let config: ReplicationConfig
        var replicator: Replicator<Int>!
        /// Everything appended here, and every delivery per sending peer index (duplicates kept).
        var appended: [Int] = []
        var delivered: [Int: [Int]] = [:]
        var snapshotAll = false

        init(flushInterval: Micros = .ms(50), config: ReplicationConfig = ReplicationConfig()) {
            self.flushInterval = flushInterval
            self.config = config
        }

        func nodeDidInit(_ node: Node) {
            replicator = Replicator(node: node, channel: ReplicationChannel(prefix: "rt"), config: config)
            for peer in node.peers { replicator.open(to: peer, flushInterval: flushInterval) }
            replicator.onDeliver { [unowned self] entries, peer in self.delivered[peer, default: []].append(contentsOf: entries) }
            if snapshotAll { replicator.snapshot = { [unowned self] _ in self.appended } }
        }

        func handle(_ message: Message, node: Node) { try? replicator.receive(message) }

        func append(_ v: Int) {
            appended.append(v)
            replicator.append(v)
        }
    }

    private let ids = ["n0", "n1", "n2"]

    private func cluster(seed: UInt64, config: ReplicationConfig = ReplicationConfig(),
                         flushInterval: Micros = .ms(50)) -> (ChaosNet, [String: Peer]) {
        let net = ChaosNet(seed: seed)
        var peers: [String: Peer] = [:]
        for id in ids {
            let p = Peer(flushInterval: flushInterval, config: config)
            peers[id] = p
            net.start(id, of: ids, handler: p)
        }
        return (net, peers)
    }

    /// Each node appends `count` distinct values at random times over `span`.
    private func schedule(_ net: ChaosNet, _ peers: [String: Peer], count: Int, over span: Micros) -> [(Micros, String, Int)] {
        var plan: [(Micros, String, Int)] = []
        for (n, id) in ids.enumerated() {
            for i in 0..<count { plan.append((Micros(net.random() * Double(span)), id, n * 1_000_000 + i)) }
        }
        return plan.sorted { ($0.0, $0.2) < ($1.0, $1.2) }
    }

    private func play(_ plan: [(Micros, String, Int)], _ net: ChaosNet, _ peers: [String: Peer],
                      during: (Micros) -> Void = { _ in }) {
        for (t, id, v) in plan {
            net.run(until: t)
            during(t)
            peers[id]!.append(v)
        }
    }

    private func assertExactlyOnceInOrder(_ peers: [String: Peer], seed: UInt64, file: StaticString = #filePath, line: UInt = #line) {
        for (i, from) in ids.enumerated() {
            for to in ids where to != from {
                XCTAssertEqual(peers[to]!.delivered[i] ?? [], peers[from]!.appended,
                               "seed \(seed): \(from) → \(to) must deliver every entry once, in order", file: file, line: line)
                let state = peers[from]!.replicator.state(of: to)!
                XCTAssertEqual(state.unacknowledged, 0, "seed \(seed): \(from) still keeps entries for \(to)", file: file, line: line)
                XCTAssertEqual(state.inFlight, 0, "seed \(seed)", file: file, line: line)
                XCTAssertEqual(state.acked, peers[from]!.appended.count, "seed \(seed)", file: file, line: line)
            }
        }
    }

    func testExactlyOnceInOrderUnderLossDuplicationReorderingAndPartitionsOverManySeeds() {
        for seed: UInt64 in 1...40 {
            let (net, peers) = cluster(seed: seed)
            net.faults = .init(loss: 0.2, duplication: 0.1, maxDelay: .ms(300))
            let plan = schedule(net, peers, count: 150, over: .seconds(20))
            var nextFlip: Micros = .seconds(2)
            play(plan, net, peers) { t in
                // Partitions come and go: a random ordered pair set is cut every ~2 s.
                guard t >= nextFlip else { return }
                nextFlip = t + .seconds(2)
                net.cut = []
                for a in self.ids { for b in self.ids where a != b && net.random() < 0.3 { net.cut.insert([a, b]) } }
            }
            net.cut = []
            net.faults = .init()
            net.run(for: .seconds(30))
            assertExactlyOnceInOrder(peers, seed: seed)
            let resends = peers.values.reduce(0) { $0 + $1.replicator.stats.resends }
            XCTAssertGreaterThan(resends, 0, "seed \(seed): the faults must actually force resends")
        }
    }

    func testHealthyLinksKeepOnlyWhatIsInFlight() {
        var config = ReplicationConfig()
        config.ackDelay = .ms(200)
        config.retransmitTimeout = .ms(1000)
        let (net, peers) = cluster(seed: 7, config: config)
        net.faults = .init(maxDelay: .ms(20))
        var peak = 0
        for i in 0..<20_000 {
            net.run(until: Micros(i) * .ms(1))
            peers["n0"]!.append(i)
            if i % 100 == 0 { peak = max(peak, peers["n0"]!.replicator.state(of: "n1")!.unacknowledged) }
        }
        net.run(for: .seconds(5))
        assertExactlyOnceInOrder(peers, seed: 7)
        // One entry per ms; acks come within ackDelay + flush + latency, so the queue stays near
        // 300 entries however long the run: memory does not grow with what was acknowledged.
        XCTAssertLessThan(peak, 400, "the queue is trimmed as acks arrive")
        XCTAssertEqual(peers.values.reduce(0) { $0 + $1.replicator.stats.resends }, 0)
    }

    func testBacklogGoesOutOneBoundedWindowPerMessage() {
        var config = ReplicationConfig()
        config.maxEntriesPerMessage = 100
        let (net, peers) = cluster(seed: 3, config: config)
        net.cut = [["n0", "n1"]]
        for i in 0..<5_000 { peers["n0"]!.append(i) }
        net.run(for: .seconds(10))
        net.cut = []
        net.run(for: .seconds(20))
        assertExactlyOnceInOrder(peers, seed: 3)
        let sizes = net.sent.filter { $0.body["type"] == "rt_data" }.compactMap { $0.body["v"]?.array?.count }
        XCTAssertEqual(sizes.max(), 100)
        // While cut off, one resend of one window per timeout, not the whole log every time.
        let toN1 = net.sent.filter { $0.from == "n0" && $0.to == "n1" && $0.body["type"] == "rt_data" }
        XCTAssertLessThan(toN1.count, 5_000 / 100 + 10)
    }

    func testNothingIsSentWhileOutputIsCongested() {
        let (net, peers) = cluster(seed: 4)
        net.endpoints["n0"]!.congested = true
        for i in 0..<10 { peers["n0"]!.append(i) }
        net.run(for: .seconds(5))
        XCTAssertEqual(peers["n1"]!.delivered[0] ?? [], [])
        XCTAssertFalse(net.sent.contains { $0.from == "n0" && $0.body["type"] == "rt_data" })
        net.endpoints["n0"]!.congested = false
        net.run(for: .seconds(5))
        assertExactlyOnceInOrder(peers, seed: 4)
    }

    func testARestartedPeerGetsTheSnapshotAndOldIncarnationsAreIgnored() {
        for seed: UInt64 in 1...10 {
            let net = ChaosNet(seed: seed)
            var peers: [String: Peer] = [:]
            for id in ids {
                let p = Peer()
                p.snapshotAll = true
                peers[id] = p
                net.start(id, of: ids, handler: p)
            }
            net.faults = .init(maxDelay: .ms(200))
            for i in 0..<100 { peers["n0"]!.append(i) }
            net.run(for: .seconds(5))
            XCTAssertEqual(peers["n1"]!.delivered[0], Array(0..<100))
            // n1 is killed and started again: a new process with a later clock, holding nothing.
            let fresh = Peer()
            fresh.snapshotAll = true
            let e = net.start("n1", of: ids, handler: fresh)
            e.wallClockOffset += .seconds(10)
            peers["n1"] = fresh
            for i in 100..<150 { peers["n0"]!.append(i) }
            fresh.append(7_000)
            net.run(for: .seconds(20))
            XCTAssertEqual(fresh.delivered[0], Array(0..<150), "seed \(seed): the new n1 recovers all of n0's entries once, in order")
            XCTAssertEqual(peers["n0"]!.delivered[1]?.suffix(1), [7_000], "seed \(seed): and its own new entries flow")
            XCTAssertEqual(peers["n0"]!.replicator.stats.peerRestarts, 1, "seed \(seed)")
            XCTAssertEqual(peers["n0"]!.replicator.state(of: "n1")!.unacknowledged, 0, "seed \(seed)")
        }
    }

    func testAMessageFromAnEarlierIncarnationIsDroppedNotApplied() throws {
        let (net, peers) = cluster(seed: 5)
        for i in 0..<3 { peers["n0"]!.append(i) }
        net.run(for: .seconds(3))
        let n1 = net.endpoints["n1"]!
        let current = peers["n0"]!.replicator.incarnation
        // A straggler from an older process of n0 (smaller incarnation) claims new entries.
        var line = #"{"src":"n0","dest":"n1","body":{"type":"rt_data","from":3,"v":[99],"ack":0,"i":\#(current - 1),"ri":0}}"#
        line.withUTF8 { n1.node.receive(line: UnsafeRawBufferPointer($0)) }
        XCTAssertEqual(peers["n1"]!.delivered[0], [0, 1, 2])
        XCTAssertEqual(peers["n1"]!.replicator.stats.staleIncarnation, 1)
    }

    func testMalformedAndHostileMessagesAreRejectedAndTheLinkGoesOn() {
        let (net, peers) = cluster(seed: 6)
        let n1 = net.endpoints["n1"]!
        let inc = peers["n0"]!.replicator.incarnation
        let bodies = [
            #"{"type":"rt_data","v":[1],"i":\#(inc)}"#,                                  // no from
            #"{"type":"rt_data","from":0,"v":["x"],"i":\#(inc)}"#,                       // bad entry
            #"{"type":"rt_data","from":-3,"v":[1],"i":\#(inc)}"#,                        // negative from
            #"{"type":"rt_data","from":9223372036854775807,"v":[7],"i":\#(inc)}"#,       // would overflow
            #"{"type":"rt_ack","i":\#(inc)}"#,                                           // no ack
            #"{"type":"rt_data","from":0,"v":[1]}"#,                                     // no incarnation
        ]
        for body in bodies {
            var line = #"{"src":"n0","dest":"n1","body":"# + body + "}"
            line.withUTF8 { n1.node.receive(line: UnsafeRawBufferPointer($0)) }
        }
        XCTAssertEqual(peers["n1"]!.replicator.stats.malformed, bodies.count, "every one is rejected")
        XCTAssertEqual(peers["n1"]!.delivered[0] ?? [], [])
        for i in 0..<3 { peers["n0"]!.append(i) }
        net.run(for: .seconds(3))
        XCTAssertEqual(peers["n1"]!.delivered[0], [0, 1, 2], "the link still works afterwards")
    }

    func testResendsBackOffWhileThePeerIsGoneAndResumeAsSoonAsItIsHeard() {
        var config = ReplicationConfig()
        config.retransmitTimeout = .ms(1000)
        config.maxBackoff = 4
        let (net, peers) = cluster(seed: 8, config: config)
        net.faults = .init(maxDelay: .ms(10))
        net.cut = [["n0", "n1"], ["n1", "n0"]]
        for i in 0..<50 { peers["n0"]!.append(i) }
        net.run(for: .seconds(30))
        let resends = net.sent.filter { $0.from == "n0" && $0.to == "n1" && $0.body["r"] == true }.count
        // 1 s, 2 s, then every 4 s: 8 or 9 resends in 30 s instead of 29.
        XCTAssertGreaterThanOrEqual(resends, 6)
        XCTAssertLessThanOrEqual(resends, 10, "backed off")
        net.cut = []
        let healed = net.now
        peers["n1"]!.append(1_000_000) // n1 speaks first: n0 hears it and resends at once
        net.run(for: .ms(300))
        XCTAssertEqual(peers["n1"]!.delivered[0], Array(0..<50), "caught up within a round trip of hearing the peer")
        XCTAssertLessThan(net.now - healed, .ms(400))
        net.run(for: .seconds(10))
        assertExactlyOnceInOrder(peers, seed: 8)
    }

    /// A message addressed (`ri`) to an earlier process of this node belongs to a stream this
    /// process never saw: it is not applied (neither its entries nor its ack), and it is answered
    /// at once with an ack carrying this process's incarnation, so the peer notices the restart
    /// even when this node has nothing to send.
    func testAMessageAddressedToAnEarlierProcessOfThisNodeIsAnsweredNotApplied() {
        let (net, peers) = cluster(seed: 10)
        for i in 0..<3 { peers["n0"]!.append(i) }
        net.run(for: .seconds(3))
        let n1 = net.endpoints["n1"]!
        let inc = peers["n0"]!.replicator.incarnation, mine = peers["n1"]!.replicator.incarnation
        let before = net.sent.count
        var line = #"{"src":"n0","dest":"n1","body":{"type":"rt_data","from":3,"v":[99],"ack":0,"i":\#(inc),"ri":\#(mine - 1)}}"#
        line.withUTF8 { n1.node.receive(line: UnsafeRawBufferPointer($0)) }
        XCTAssertEqual(peers["n1"]!.delivered[0], [0, 1, 2], "not applied")
        XCTAssertEqual(peers["n1"]!.replicator.stats.staleIncarnation, 1)
        let answers = net.sent[before...].filter { $0.from == "n1" && $0.to == "n0" }
        XCTAssertEqual(answers.map { $0.body["type"] }, ["rt_ack"], "answered at once")
        XCTAssertEqual(answers.first?.body["i"], .int(mine), "with this process's incarnation")
    }

    /// A restarted node that only receives: the peer's data is addressed to its predecessor, the
    /// ack that answers it tells the peer of the restart, and the snapshot follows.
    func testARestartedPeerWithNothingToSendStillGetsTheSnapshot() {
        let net = ChaosNet(seed: 13)
        var peers: [String: Peer] = [:]
        for id in ids {
            let p = Peer()
            p.snapshotAll = true
            peers[id] = p
            net.start(id, of: ids, handler: p)
        }
        for i in 0..<10 { peers["n0"]!.append(i) }
        net.run(for: .seconds(3))
        let fresh = Peer()
        fresh.snapshotAll = true
        net.start("n1", of: ids, handler: fresh)
        peers["n0"]!.append(10)
        net.run(for: .seconds(10))
        XCTAssertEqual(fresh.delivered[0], Array(0..<11))
        XCTAssertEqual(peers["n0"]!.replicator.stats.peerRestarts, 1)
    }

    /// Both directions of a link start again when a peer restarts: the new process numbers its
    /// stream from 0, and what it sends is delivered though the old process had sent more.
    func testARestartedPeersNewStreamIsReceivedFromTheStart() {
        let (net, peers) = cluster(seed: 15)
        for i in 0..<5 { peers["n1"]!.append(i) }
        net.run(for: .seconds(3))
        XCTAssertEqual(peers["n0"]!.delivered[1], Array(0..<5))
        let fresh = Peer()
        net.start("n1", of: ids, handler: fresh)
        for i in 100..<103 { fresh.append(i) }
        net.run(for: .seconds(5))
        XCTAssertEqual(peers["n0"]!.delivered[1], Array(0..<5) + [100, 101, 102])
    }

    /// The restart handshake: a restarted node greets every peer until each answers, and is caught
    /// up with a peer only once that peer answered and delivered the snapshot it owed (whose length
    /// its answer carries as `s`).
    func testTheHandshakeIsResentUntilAnsweredAndCatchingUpWaitsForTheSnapshot() {
        var config = ReplicationConfig()
        config.retransmitTimeout = .ms(1000)
        let net = ChaosNet(seed: 14)
        var peers: [String: Peer] = [:]
        for id in ids {
            let p = Peer(flushInterval: .ms(100), config: config)
            p.snapshotAll = true
            peers[id] = p
            net.start(id, of: ids, handler: p)
        }
        for i in 0..<10 { peers["n0"]!.append(i) }
        net.run(for: .seconds(3))
        net.cut = [["n1", "n0"]] // the first hellos to n0 are lost
        let fresh = Peer(flushInterval: .ms(100), config: config)
        fresh.snapshotAll = true
        net.start("n1", of: ids, handler: fresh)
        fresh.replicator.startHandshake()
        net.run(for: .ms(1))
        XCTAssertTrue(fresh.replicator.isCaughtUp(with: "n2"), "n2 answered at once and owes nothing")
        XCTAssertFalse(fresh.replicator.isCaughtUp(with: "n0"), "n0 has not answered")
        net.run(for: .ms(2500))
        XCTAssertFalse(fresh.replicator.isCaughtUp(with: "n0"))
        net.cut = []
        // The next hello (at 3 s) reaches n0, whose answer comes at once and its snapshot with its
        // next flush (100 ms): in between, n1 knows it is not caught up yet.
        net.run(until: net.now + .ms(500) + .ms(1))
        XCTAssertEqual(peers["n0"]!.replicator.stats.peerRestarts, 1, "n0 heard the hello")
        XCTAssertNil(fresh.delivered[0], "the snapshot is not there yet")
        XCTAssertFalse(fresh.replicator.isCaughtUp(with: "n0"), "answered, but the snapshot is owed")
        net.run(for: .ms(200))
        XCTAssertEqual(fresh.delivered[0], Array(0..<10))
        XCTAssertTrue(fresh.replicator.isCaughtUp(with: "n0"))
    }

    /// While output is congested neither a timed-out resend nor the resend triggered by hearing
    /// the peer again is written; both go out once it clears.
    func testResendsWaitWhileOutputIsCongested() {
        var config = ReplicationConfig()
        config.retransmitTimeout = .ms(1000)
        let (net, peers) = cluster(seed: 11, config: config)
        net.cut = [["n0", "n1"], ["n1", "n0"]]
        for i in 0..<5 { peers["n0"]!.append(i) }
        net.run(for: .seconds(20)) // sends and resends lost; the backoff is at its maximum
        net.endpoints["n0"]!.congested = true
        let before = net.sent.count
        net.run(for: .seconds(10)) // timed-out resends come due
        net.cut = []
        peers["n1"]!.append(100) // n0 hears n1 again
        net.run(for: .seconds(10))
        XCTAssertFalse(net.sent[before...].contains { $0.from == "n0" && $0.body["type"] == "rt_data" },
                       "no data written while congested")
        XCTAssertNil(peers["n1"]!.delivered[0])
        net.endpoints["n0"]!.congested = false
        net.run(for: .seconds(10))
        assertExactlyOnceInOrder(peers, seed: 11)
    }

    /// Batches beyond a gap wait in a buffer of at most `maxBufferedEntries` entries; beyond it
    /// they are dropped (they come again with the next resend). The gap filled, the held ones are
    /// delivered in order.
    func testBatchesBeyondAGapAreHeldOnlyUpToTheBound() {
        var config = ReplicationConfig()
        config.maxBufferedEntries = 5
        let (net, peers) = cluster(seed: 12, config: config)
        let n1 = net.endpoints["n1"]!
        let inc = peers["n0"]!.replicator.incarnation
        func data(from: Int) {
            var line = #"{"src":"n0","dest":"n1","body":{"type":"rt_data","from":\#(from),"v":[\#(from)],"ack":0,"i":\#(inc),"ri":0}}"#
            line.withUTF8 { n1.node.receive(line: UnsafeRawBufferPointer($0)) }
        }
        for from in 1...8 { data(from: from) } // entry 0 is missing
        XCTAssertEqual(peers["n1"]!.replicator.state(of: "n0")?.buffered, 5)
        XCTAssertEqual(peers["n1"]!.replicator.stats.batchesDropped, 3)
        data(from: 0)
        XCTAssertEqual(peers["n1"]!.delivered[0], [0, 1, 2, 3, 4, 5])
        XCTAssertEqual(peers["n1"]!.replicator.state(of: "n0")?.buffered, 0)
    }

    /// A newer state of one thing, which makes older unsent states useless (as g-counter's entries).
    struct Version: ReplicatedEntry, Equatable {
        let key: Int, n: Int
        func write(into array: inout JSONWriter) { array.arrayElement { $0.element(key); $0.element(n) } }
        init(key: Int, n: Int) { self.key = key; self.n = n }
        init?(json: JSON) {
            guard let k = json[0].int, let n = json[1].int else { return nil }
            self.init(key: k, n: n)
        }
        func supersedes(_ older: Version) -> Bool { key == older.key && n >= older.n }
    }

    final class VersionPeer: MessageHandler {
        var replicator: Replicator<Version>!
        var delivered: [Version] = []
        func nodeDidInit(_ node: Node) {
            replicator = Replicator(node: node, channel: ReplicationChannel(prefix: "vt"), config: ReplicationConfig())
            for peer in node.peers { replicator.open(to: peer, flushInterval: .ms(100)) }
            replicator.onDeliver { [unowned self] e, _ in self.delivered.append(contentsOf: e) }
        }
        func handle(_ message: Message, node: Node) { try? replicator.receive(message) }
    }

    func testUnsentStatesAreSupersededButEverySentOneArrivesOnceInOrder() {
        for seed: UInt64 in 1...10 {
            let net = ChaosNet(seed: seed)
            let a = VersionPeer(), b = VersionPeer()
            net.start("n0", of: ["n0", "n1"], handler: a)
            net.start("n1", of: ["n0", "n1"], handler: b)
            net.faults = .init(loss: 0.2, duplication: 0.1, maxDelay: .ms(150))
            for n in 1...500 {
                a.replicator.append(Version(key: (n / 50) % 3, n: n)) // runs of one key, as one node's adds
                net.run(for: .ms(Int64(net.random() * 10)))
            }
            net.faults = .init()
            net.run(for: .seconds(20))
            let got = b.delivered
            XCTAssertLessThan(got.count, 500, "seed \(seed): unsent older states were replaced")
            for key in 0..<3 {
                let ns = got.filter { $0.key == key }.map(\.n)
                XCTAssertEqual(ns, ns.sorted(), "seed \(seed): in order")
                XCTAssertEqual(Set(ns).count, ns.count, "seed \(seed): each once")
                XCTAssertEqual(ns.last, (1...500).last { ($0 / 50) % 3 == key }, "seed \(seed): the latest state arrives")
            }
            XCTAssertEqual(a.replicator.state(of: "n1")?.unacknowledged, 0)
        }
    }
}

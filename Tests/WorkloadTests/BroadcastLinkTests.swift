import EVCore
import EVSim
import Workloads
import XCTest

/// `PeerLinks` on its own, between nodes of a simulated cluster: a test log records every entry
/// the link delivers (without deduplicating), so a double or out-of-order delivery shows.
final class BroadcastLinkTests: XCTestCase {
    /// An append-only set of ints that remembers where each entry came from and every delivery
    /// (the log itself keeps one copy of a value; `delivered` records each link delivery).
    final class RecordingLog: ReplicatedLog {
        typealias Entry = Int
        var entries: [Int] = []
        var present = Set<Int>()
        var origins: [Int] = []
        /// Every entry applied, per sending peer, in delivery order (duplicates included).
        var delivered: [Int: [Int]] = [:]
        let selfIndex: Int
        init(selfIndex: Int) { self.selfIndex = selfIndex }

        var count: Int { entries.count }
        func append(_ v: Int) { entries.append(v); origins.append(selfIndex); present.insert(v) }
        func shouldSend(_ index: Int, to peer: Int) -> Bool { origins[index] != peer }
        func write(_ index: Int, into array: inout JSONWriter) { array.element(entries[index]) }
        func decode(_ element: JSON) -> Int? { element.int }
        func apply(_ batch: ArraySlice<Int>, from peer: Int) {
            for v in batch {
                delivered[peer, default: []].append(v)
                guard present.insert(v).inserted else { continue }
                entries.append(v)
                origins.append(peer)
            }
        }
    }

    /// Each node: a recording log and links to every other node with one flush interval.
    final class LinkNode: MessageHandler {
        let flushInterval: Micros
        let config: PeerLinkConfig
        var log: RecordingLog!
        var links: PeerLinks<RecordingLog>!
        init(flushInterval: Micros, config: PeerLinkConfig) {
            self.flushInterval = flushInterval
            self.config = config
        }
        func nodeDidInit(_ node: Node) {
            log = RecordingLog(selfIndex: node.nodeIDs.firstIndex(of: node.id)!)
            links = PeerLinks(node: node, log: log, dataType: "lt_data", ackType: "lt_ack", config: config)
            for peer in node.peers { links.open(to: peer, flushInterval: flushInterval) }
        }
        func handle(_ message: Message, node: Node) {
            links.handle(message, defaultFlushInterval: flushInterval)
        }
        func add(_ v: Int) {
            log.append(v)
            links.logDidGrow()
        }
    }

    /// One data message as it left its sender, with the sender's acked cursor at that moment.
    struct SentData { let src: String; let dest: String; let from: Int; let count: Int; let resend: Bool; let ackedThen: Int }

    struct Setup {
        let cluster: Cluster
        let nodes: [String: LinkNode]
        var data: [SentData] { recorder.data }
        var acks: Int { recorder.acks }
        let recorder: Recorder
    }

    final class Recorder {
        var data: [SentData] = []
        var acks = 0
    }

    func makeCluster(nodes: Int = 2, latency: Micros = .ms(100), distribution: LatencyDistribution = .constant,
                     flushInterval: Micros = .ms(50), config: PeerLinkConfig = PeerLinkConfig(), seed: UInt64 = 1) -> Setup {
        var handlers: [String: LinkNode] = [:]
        var cc = ClusterConfig(nodeCount: nodes, latency: latency, seed: seed)
        cc.distribution = distribution
        cc.handlerFactory = { id in
            let h = LinkNode(flushInterval: flushInterval, config: config)
            handlers[id] = h
            return h
        }
        let cluster = Cluster(cc)
        let recorder = Recorder()
        cluster.network.onSend = { m in
            guard !SimNetwork.isClient(m.src), !SimNetwork.isClient(m.dest), let body = m.body else { return }
            if body["type"] == "lt_ack" { recorder.acks += 1; return }
            guard body["type"] == "lt_data", let from = body["from"]?.int, let v = body["v"]?.array else { return }
            let acked = handlers[m.src]?.links.state(of: m.dest)?.acked ?? -1
            recorder.data.append(SentData(src: m.src, dest: m.dest, from: from, count: v.count,
                                          resend: body["r"] == true, ackedThen: acked))
        }
        XCTAssertEqual(cluster.initialize(), [])
        return Setup(cluster: cluster, nodes: handlers, recorder: recorder)
    }

    /// Adds `count` entries to `node`, one every `gap`, starting at `first`.
    func feed(_ s: Setup, _ node: String, values: Range<Int>, every gap: Micros) {
        for (i, v) in values.enumerated() {
            s.cluster.events.schedule(after: Micros(i) * gap) { s.nodes[node]!.add(v) }
        }
    }

    // MARK: tests

    func testBatchesAreDeliveredOnceInOrderWithPiggybackedAcksAndNoResends() {
        let s = makeCluster()
        feed(s, "n0", values: 0..<200, every: .ms(7))
        feed(s, "n1", values: 1000..<1100, every: .ms(13))
        s.cluster.run(for: .seconds(10))

        XCTAssertEqual(s.nodes["n1"]!.log.delivered[0], Array(0..<200))
        XCTAssertEqual(s.nodes["n0"]!.log.delivered[1], Array(1000..<1100))
        // Entries are never echoed back to where they came from.
        XCTAssertNil(s.nodes["n0"]!.log.delivered[0])
        XCTAssertFalse(s.data.contains { $0.resend })
        for n in ["n0", "n1"] {
            let st = s.nodes[n]!.links.stats
            XCTAssertEqual(st.resends, 0)
            XCTAssertEqual(st.duplicateEntriesReceived, 0)
        }
        // Batched: 200 entries over 1.4 s at one flush per 50 ms is at most ~29 messages, not 200.
        let fromN0 = s.data.filter { $0.src == "n0" }
        XCTAssertEqual(fromN0.reduce(0) { $0 + $1.count }, 200, "each entry sent exactly once")
        XCTAssertLessThanOrEqual(fromN0.count, 30)
        // Both directions carry data, so acks ride along; the only standalone acks are the final
        // ones after the traffic stops (one per direction).
        XCTAssertLessThanOrEqual(s.acks, 2)
        XCTAssertEqual(s.nodes["n0"]!.links.state(of: "n1")!.acked, 200)
        XCTAssertEqual(s.nodes["n0"]!.links.state(of: "n1")!.inFlight, 0)
    }

    func testOneWayTrafficIsAcknowledgedByDelayedStandaloneAcks() {
        var config = PeerLinkConfig()
        config.ackDelay = .ms(1000)
        let s = makeCluster(config: config)
        feed(s, "n0", values: 0..<100, every: .ms(50)) // 5 s of one-way data
        s.cluster.run(for: .seconds(8))
        XCTAssertEqual(s.nodes["n1"]!.log.delivered[0], Array(0..<100))
        // One ack per ackDelay at most (not one per batch), and no resend.
        XCTAssertGreaterThanOrEqual(s.acks, 4)
        XCTAssertLessThanOrEqual(s.acks, 7)
        XCTAssertEqual(s.nodes["n0"]!.links.stats.resends, 0)
        XCTAssertEqual(s.nodes["n0"]!.links.state(of: "n1")!.inFlight, 0)
    }

    func testPartitionIsBridgedByResendingFromTheAcknowledgedPoint() {
        var config = PeerLinkConfig()
        config.retransmitTimeout = .ms(2500)
        let s = makeCluster(config: config)
        feed(s, "n0", values: 0..<300, every: .ms(50)) // 15 s
        s.cluster.events.schedule(at: s.cluster.now + .seconds(3)) { s.cluster.network.partition([["n0"], ["n1"]]) }
        s.cluster.events.schedule(at: s.cluster.now + .seconds(10)) { s.cluster.network.heal() }
        var maxInFlight = 0
        for _ in 0..<200 {
            s.cluster.run(for: .ms(100))
            maxInFlight = max(maxInFlight, s.nodes["n0"]!.links.state(of: "n1")!.inFlight)
        }
        XCTAssertEqual(s.nodes["n1"]!.log.delivered[0], Array(0..<300), "all entries, once, in order")
        XCTAssertGreaterThan(s.nodes["n0"]!.links.stats.resends, 0)
        // Never resent anything the peer had acknowledged.
        for d in s.data where d.src == "n0" && d.resend {
            XCTAssertEqual(d.from, d.ackedThen, "a resend starts exactly at the acknowledged point")
        }
        for d in s.data where d.src == "n0" { XCTAssertGreaterThanOrEqual(d.from, d.ackedThen) }
        // Pending state stays small while the peer is unreachable: messages in flight, not entries.
        XCTAssertLessThanOrEqual(maxInFlight, Int(config.retransmitTimeout / .ms(50)) + 1)
        // While cut off, the link sends one resend per timeout rather than a batch per flush.
        let duringPartition = s.data.filter { $0.src == "n0" && $0.resend }
        XCTAssertLessThanOrEqual(duringPartition.count, 4)
        XCTAssertEqual(s.nodes["n0"]!.links.state(of: "n1")!.acked, 300)
        XCTAssertFalse(s.nodes["n0"]!.links.state(of: "n1")!.resending)
    }

    func testLostAcksCauseOneResendThatIsRecognisedAsDuplicate() {
        var config = PeerLinkConfig()
        config.ackDelay = .ms(200)
        config.retransmitTimeout = .ms(1000)
        let s = makeCluster(config: config)
        // n0 hears nothing from n1 (acks lost); n1 still hears n0.
        s.cluster.network.block([SimNetwork.Pair(receiver: "n0", sender: "n1")])
        feed(s, "n0", values: 0..<10, every: .ms(10))
        s.cluster.run(for: .ms(1500))
        s.cluster.network.heal()
        s.cluster.run(for: .seconds(5))
        XCTAssertEqual(s.nodes["n1"]!.log.delivered[0], Array(0..<10), "the resend is not delivered twice")
        XCTAssertGreaterThan(s.nodes["n1"]!.links.stats.duplicateEntriesReceived, 0)
        XCTAssertGreaterThan(s.nodes["n0"]!.links.stats.resends, 0)
        XCTAssertEqual(s.nodes["n0"]!.links.state(of: "n1")!.acked, 10)
        XCTAssertEqual(s.nodes["n0"]!.links.state(of: "n1")!.inFlight, 0)
    }

    func testReorderedBatchesWaitForTheGapInsteadOfBeingResent() {
        // Uniform latency [0, 400] ms reorders batches sent 50 ms apart; the gap fills long before
        // the resend timeout, so every entry arrives once, in order, with no resend.
        let s = makeCluster(latency: .ms(200), distribution: .uniform, seed: 3)
        feed(s, "n0", values: 0..<200, every: .ms(10))
        s.cluster.run(for: .seconds(8))
        XCTAssertEqual(s.nodes["n1"]!.log.delivered[0], Array(0..<200))
        XCTAssertGreaterThan(s.nodes["n1"]!.links.stats.batchesBuffered, 0, "the seed must actually reorder")
        XCTAssertEqual(s.nodes["n0"]!.links.stats.resends, 0)
    }

    func testEntriesFromAPeerAreNotSentBackButReachTheOthers() {
        let s = makeCluster(nodes: 3)
        feed(s, "n0", values: 0..<5, every: .ms(10))
        s.cluster.run(for: .seconds(3))
        // n1 and n2 got 0..<5 from n0 and forward them to each other, never back to n0.
        XCTAssertEqual(s.nodes["n1"]!.log.delivered[0], Array(0..<5))
        XCTAssertEqual(s.nodes["n0"]!.log.delivered[1] ?? [], [])
        XCTAssertEqual(s.nodes["n0"]!.log.delivered[2] ?? [], [])
        XCTAssertEqual(s.nodes["n2"]!.log.delivered[1], Array(0..<5))
    }

    func testMalformedPeerMessagesAreDroppedWithoutHarm() {
        let s = makeCluster()
        let n1 = s.cluster.node("n1")
        for text in [#"{"type":"lt_data","v":[1]}"#, #"{"type":"lt_data","from":0,"v":["x"]}"#,
                     #"{"type":"lt_data","from":-3,"v":[1]}"#, #"{"type":"lt_ack"}"#, #"{"type":"lt_ack","ack":99}"#] {
            s.cluster.network.send(from: "n0", to: "n1", text: #"{"src":"n0","dest":"n1","body":"# + text + "}")
        }
        s.cluster.run(for: .seconds(1))
        XCTAssertEqual(s.nodes["n1"]!.links.stats.malformed, 5)
        XCTAssertEqual(s.nodes["n1"]!.log.count, 0)
        XCTAssertEqual(n1.node.stats.received, 1 + 5) // init + the five, all survived
        // The link still works afterwards.
        feed(s, "n0", values: 0..<3, every: .ms(1))
        s.cluster.run(for: .seconds(2))
        XCTAssertEqual(s.nodes["n1"]!.log.delivered[0], [0, 1, 2])
    }
}

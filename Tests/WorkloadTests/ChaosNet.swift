import EVCore
import Workloads

/// A deliberately hostile network for the replication layer's tests, with a virtual clock and one
/// seed: every message may be dropped, duplicated or delayed by a random amount (so reordered), and
/// links can be cut. Nodes are real `Node`s; their handlers are whatever the test installs.
/// Same seed, same run.
final class ChaosNet {
    struct Faults {
        var loss = 0.0
        var duplication = 0.0
        var maxDelay: Micros = 0
    }

    final class Endpoint: Transport {
        let id: String
        unowned let net: ChaosNet
        var node: Node!
        var congested = false
        var wallClockOffset: Micros = 1_700_000_000_000_000
        init(id: String, net: ChaosNet) { self.id = id; self.net = net }
        var now: Micros { net.now }
        var wallClock: Micros { wallClockOffset + net.now }
        var outputCongested: Bool { congested }
        func transmit(dest: String, line: UnsafeRawBufferPointer) { net.send(from: id, to: dest, Array(line)) }
        func timersChanged() {}
    }

    private struct InFlight { let at: Micros; let seq: Int; let from: String; let to: String; let line: [UInt8] }

    private(set) var now: Micros = 0
    var faults = Faults()
    /// Ordered pairs (from, to) whose messages are dropped.
    var cut: Set<[String]> = []
    private(set) var endpoints: [String: Endpoint] = [:]
    private var queue: [InFlight] = []
    private var seq = 0
    private var rng: UInt64
    /// Every line sent between nodes, with its sender and receiver.
    private(set) var sent: [(from: String, to: String, body: JSONValue)] = []

    init(seed: UInt64) { rng = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }

    func random() -> Double {
        // xorshift64*: small, deterministic, good enough for fault injection.
        rng ^= rng >> 12; rng ^= rng << 25; rng ^= rng >> 27
        return Double((rng &* 0x2545_F491_4F6C_DD1D) >> 11) / Double(1 << 53)
    }

    /// Adds (or replaces, as a restart does) node `id` with a fresh `Node` running `handler`, and
    /// initializes it as one of `ids`.
    @discardableResult
    func start(_ id: String, of ids: [String], handler: MessageHandler) -> Endpoint {
        let e = Endpoint(id: id, net: self)
        e.node = Node(transport: e, handler: handler)
        if endpoints[id] != nil {
            // A restart, as Maelstrom does it: what was on its way to the killed process is lost.
            queue.removeAll { $0.to == id }
        }
        endpoints[id] = e
        let ids = ids.map { "\"\($0)\"" }.joined(separator: ",")
        var line = #"{"src":"c0","dest":"\#(id)","body":{"type":"init","msg_id":1,"node_id":"\#(id)","node_ids":[\#(ids)]}}"#
        line.withUTF8 { e.node.receive(line: UnsafeRawBufferPointer($0)) }
        return e
    }

    func send(from: String, to: String, _ line: [UInt8]) {
        guard endpoints[to] != nil else { return } // replies to the test's client c0
        if let body = JSONValue(parsing: String(decoding: line, as: UTF8.self))?["body"] { sent.append((from, to, body)) }
        if cut.contains([from, to]) || random() < faults.loss { return }
        let copies = random() < faults.duplication ? 2 : 1
        for _ in 0..<copies {
            seq += 1
            let delay = faults.maxDelay > 0 ? Micros(random() * Double(faults.maxDelay)) : 0
            queue.append(InFlight(at: now + delay, seq: seq, from: from, to: to, line: line))
        }
    }

    /// Runs messages and timers until `end`, in time order (timers first at equal times).
    func run(until end: Micros) {
        while true {
            var timer: Endpoint?
            var tTimer = Micros.max
            for id in endpoints.keys.sorted() {
                if let d = endpoints[id]!.node.nextDeadline, d < tTimer { tTimer = d; timer = endpoints[id] }
            }
            var nextMessage: Int?
            for i in queue.indices {
                if let n = nextMessage, (queue[n].at, queue[n].seq) <= (queue[i].at, queue[i].seq) { continue }
                nextMessage = i
            }
            let tMessage = nextMessage.map { queue[$0].at } ?? .max
            let t = min(tTimer, tMessage)
            guard t <= end else { break }
            now = max(now, t)
            if tTimer <= tMessage, let e = timer {
                e.node.fireTimers()
            } else if let i = nextMessage {
                let m = queue.remove(at: i)
                m.line.withUnsafeBytes { endpoints[m.to]?.node.receive(line: $0) }
            }
        }
        now = max(now, end)
    }

    func run(for duration: Micros) { run(until: now + duration) }
}

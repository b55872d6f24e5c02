import EVCore
import HeapModule

/// Anything that can receive messages on the simulated network: a node, a service, a client.
public protocol Endpoint: AnyObject {
    var id: String { get }
    func deliver(_ message: SimMessage)
}

/// One message in flight.
public struct SimMessage: Sendable {
    public let id: Int
    public let src: String
    public let dest: String
    public let line: [UInt8] // the JSON line as written, without the newline
    public let sentAt: Micros
    public let deadline: Micros

    public init(id: Int, src: String, dest: String, line: [UInt8], sentAt: Micros, deadline: Micros) {
        self.id = id
        self.src = src
        self.dest = dest
        self.line = line
        self.sentAt = sentAt
        self.deadline = deadline
    }

    public var text: String { String(decoding: line, as: UTF8.self) }
    /// The body, parsed (for services, clients and tests; nodes parse the line themselves).
    public var body: JSONValue? { JSONValue(parsing: text)?["body"] }
}

/// How node↔node and node↔service latency is drawn (Maelstrom's --latency and --latency-dist).
public enum LatencyDistribution: String, Sendable, CaseIterable {
    case constant, uniform, exponential
}

/// Maelstrom's network (protocol reference §5): client traffic has zero latency, everything else
/// gets the configured latency; each receiver has a deadline-ordered queue drained by one delivery
/// "thread" that sleeps until each message's deadline (so a client request can wait behind a
/// 100 ms peer message); partitions drop messages when the receiver takes them off its queue.
public final class SimNetwork {
    public let events: EventQueue
    public var latency: Micros
    public var distribution: LatencyDistribution
    private var rng: SimRandom
    private var endpoints: [String: Endpoint] = [:]
    private var inboxes: [String: Inbox] = [:]
    /// (receiver, sender) pairs whose messages are dropped.
    public private(set) var blocked: Set<Pair> = []
    public private(set) var stats = NetStats()
    private var nextMessageID = 0
    /// Called for every message sent (tracing, determinism tests, message diagrams).
    public var onSend: ((SimMessage) -> Void)?
    /// Records sends, deliveries and drops while attached (message diagrams).
    public var log: MessageLog?
    /// Messages addressed to an id that does not exist (or no longer does). In Maelstrom this makes
    /// the network stop reading the sender's stdout: the simulator records it as a fatal error.
    public private(set) var undeliverable: [SimMessage] = []

    public struct Pair: Hashable, Sendable {
        public let receiver: String
        public let sender: String
        public init(receiver: String, sender: String) { self.receiver = receiver; self.sender = sender }
    }

    /// One receiver's queue and delivery thread. A killed process's inbox stays registered but
    /// dead: what is sent to it piles up and is never delivered; `revive` gives the id a fresh one.
    private final class Inbox {
        var queue = Heap<Scheduled<SimMessage>>()
        var busy = false
        var dead = false
    }

    public init(events: EventQueue, latency: Micros = 0, distribution: LatencyDistribution = .constant, rng: SimRandom) {
        self.events = events
        self.latency = latency
        self.distribution = distribution
        self.rng = rng
    }

    public func register(_ endpoint: Endpoint) {
        endpoints[endpoint.id] = endpoint
        inboxes[endpoint.id] = Inbox()
    }

    public func unregister(_ id: String) {
        endpoints[id] = nil
        inboxes[id] = nil
    }

    public func isRegistered(_ id: String) -> Bool { endpoints[id] != nil }

    /// A killed process (reference §5.5): the id stays registered, so sending to it is not an
    /// invalid destination, but nothing queued for it or sent to it later is ever delivered,
    /// including a message its delivery thread was already sleeping on.
    public func kill(_ id: String) {
        inboxes[id]?.dead = true
    }

    /// A fresh process under an existing id: a new endpoint with a new, empty inbox (what piled up
    /// in the old one is lost).
    public func revive(_ endpoint: Endpoint) {
        precondition(endpoints[endpoint.id] != nil, "\(endpoint.id) was never registered")
        register(endpoint)
    }

    /// Messages waiting in an id's inbox (for a dead id: everything sent since it was killed).
    public func queuedCount(_ id: String) -> Int { inboxes[id]?.queue.count ?? 0 }

    public static func isClient(_ id: String) -> Bool { isClientID(id) }

    /// Maelstrom's services: never partitioned, killed or paused.
    public static let services: Set<String> = ["lin-kv", "seq-kv", "lww-kv", "lin-tso"]

    /// Sends one line (a complete JSON envelope, newline optional).
    public func send(from src: String, to dest: String, line: UnsafeRawBufferPointer) {
        var bytes = Array(line)
        if bytes.last == 0x0A { bytes.removeLast() }
        nextMessageID += 1
        let clientTraffic = Self.isClient(src) || Self.isClient(dest)
        let delay = clientTraffic ? 0 : drawLatency()
        let message = SimMessage(id: nextMessageID, src: src, dest: dest, line: bytes, sentAt: events.now,
                                 deadline: events.now + delay)
        stats.recordSend(clientTraffic: clientTraffic)
        if !clientTraffic && !Self.services.contains(src) && !Self.services.contains(dest) { stats.nodeToNodeSends += 1 }
        onSend?(message)
        log?.sent(message)
        guard let inbox = inboxes[dest] else {
            undeliverable.append(message)
            return
        }
        inbox.queue.insert(Scheduled(time: message.deadline, seq: message.id, payload: message))
        if !inbox.busy, !inbox.dead {
            inbox.busy = true
            events.schedule(at: events.now) { [weak self] in self?.take(dest) }
        }
    }

    public func send(from src: String, to dest: String, text: String) {
        var t = text
        t.withUTF8 { send(from: src, to: dest, line: UnsafeRawBufferPointer($0)) }
    }

    /// The receiver's delivery thread takes its earliest message and sleeps until its deadline.
    private func take(_ receiver: String) {
        guard let inbox = inboxes[receiver] else { return }
        take(receiver, inbox)
    }

    private func take(_ receiver: String, _ inbox: Inbox) {
        while !inbox.dead, let next = inbox.queue.popMin()?.payload {
            if blocked.contains(Pair(receiver: receiver, sender: next.src)) {
                stats.dropped += 1
                log?.dropped(next, at: events.now)
                continue
            }
            events.schedule(at: next.deadline) { [weak self] in
                guard let self else { return }
                // The process this thread fed was killed (and maybe replaced) while it slept.
                guard !inbox.dead, self.inboxes[receiver] === inbox else { return }
                if let endpoint = self.endpoints[receiver] {
                    self.stats.recordReceive(clientTraffic: Self.isClient(next.src) || Self.isClient(next.dest))
                    self.log?.delivered(next, at: self.events.now)
                    endpoint.deliver(next)
                }
                self.take(receiver, inbox)
            }
            return
        }
        inbox.busy = false
    }

    private func drawLatency() -> Micros {
        switch distribution {
        case .constant: return latency
        case .uniform: return latency == 0 ? 0 : Micros(rng.int(0...Int(2 * latency / 1000))) * 1000
        case .exponential: return latency == 0 ? 0 : Micros(rng.exponential(mean: Double(latency / 1000))) * 1000
        }
    }

    // MARK: partitions

    /// Cuts the network into groups: nodes in different groups cannot hear each other.
    public func partition(_ groups: [[String]]) {
        var pairs = Set<Pair>()
        for (i, a) in groups.enumerated() {
            for (j, b) in groups.enumerated() where i != j {
                for r in a { for s in b { pairs.insert(Pair(receiver: r, sender: s)) } }
            }
        }
        blocked = pairs
    }

    /// Blocks exactly these (receiver, sender) pairs (e.g. a majorities ring).
    public func block(_ pairs: Set<Pair>) { blocked = pairs }

    public func heal() { blocked = [] }
}

/// Message counts as Maelstrom's :net checker reports them (protocol reference §8.2).
public struct NetStats: Sendable, Equatable {
    public var clientSends = 0, clientReceives = 0
    public var serverSends = 0, serverReceives = 0
    public var dropped = 0
    /// Server sends between two nodes (not to or from a service): the coordination a design needs.
    public var nodeToNodeSends = 0

    public var allSends: Int { clientSends + serverSends }
    public var allReceives: Int { clientReceives + serverReceives }

    mutating func recordSend(clientTraffic: Bool) {
        if clientTraffic { clientSends += 1 } else { serverSends += 1 }
    }

    mutating func recordReceive(clientTraffic: Bool) {
        if clientTraffic { clientReceives += 1 } else { serverReceives += 1 }
    }
}

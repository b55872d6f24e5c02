import EVCore

/// Maelstrom's built-in services (protocol reference §10), as endpoints on the simulated network.
/// They get network latency like nodes but are never partitioned.
public class SimService: Endpoint {
    public let id: String
    unowned let network: SimNetwork
    public private(set) var requests = 0
    /// Start skew: the time each reply takes to go out (none by default).
    private var replyDelay = StartSkew.Spread.zero
    private var delayRNG = SimRandom(seed: 0)

    init(id: String, network: SimNetwork) {
        self.id = id
        self.network = network
        network.register(self)
    }

    public func deliver(_ message: SimMessage) {
        guard let body = message.body, let msgID = body["msg_id"]?.int, let type = body["type"]?.string else { return }
        requests += 1
        var reply = handle(type: type, body: body, caller: message.src)
        reply.append(("in_reply_to", .int(msgID)))
        let envelope: JSONValue = ["src": .string(id), "dest": .string(message.src), "body": .object(reply)]
        // The request takes effect at receipt (so lin-kv stays linearizable: its point lies
        // within the caller's request/reply window); only the reply waits.
        let delay = replyDelay.draw(&delayRNG)
        let network = self.network, id = self.id, text = envelope.text
        if delay == 0 { return network.send(from: id, to: message.src, text: text) }
        network.events.schedule(after: delay) { network.send(from: id, to: message.src, text: text) }
    }

    /// Delays every reply by a draw from `spread` on `rng` (`ClusterSettings.startSkew`).
    func setReplyDelay(_ spread: StartSkew.Spread, rng: SimRandom) {
        replyDelay = spread
        delayRNG = rng
    }

    func handle(type: String, body: JSONValue, caller: String) -> [(String, JSONValue)] {
        KVState.error(.notSupported, "unsupported request \(type)")
    }
}

/// lin-kv: one state, every request applied atomically to the latest state.
public final class LinKV: SimService {
    var state = KVState()
    public init(network: SimNetwork) { super.init(id: "lin-kv", network: network) }

    override func handle(type: String, body: JSONValue, caller: String) -> [(String, JSONValue)] {
        state.serve(type: type, body: body)
    }

    public subscript(key: JSONValue) -> JSONValue? { state.map[key] }
}

/// seq-kv as Maelstrom 0.2.3+ implements it: the last 32 states are kept; each caller has a
/// position; a request that would not change the state is answered from a state picked at random
/// between the caller's position and the newest (so reads can be stale); a changing request is
/// applied to the newest state and moves the caller there.
public final class SeqKV: SimService {
    static let historyLength = 32
    private var states: [KVState] = [KVState()]
    private var firstIndex = 0 // absolute index of states[0]
    private var positions: [String: Int] = [:]
    private var rng: SimRandom

    public init(network: SimNetwork, rng: SimRandom) {
        self.rng = rng
        super.init(id: "seq-kv", network: network)
    }

    override func handle(type: String, body: JSONValue, caller: String) -> [(String, JSONValue)] {
        let newest = firstIndex + states.count - 1
        let position = max(positions[caller] ?? firstIndex, firstIndex)
        let picked = rng.int(position...newest)
        switch states[picked - firstIndex].apply(type: type, body: body) {
        case .reply(let r):
            positions[caller] = picked
            return r
        case .change:
            // Re-executed against the newest state so that updates are never lost.
            switch states[states.count - 1].apply(type: type, body: body) {
            case .reply(let r):
                positions[caller] = newest
                return r
            case .change(let r, let next):
                states.append(next)
                if states.count > Self.historyLength { states.removeFirst(); firstIndex += 1 }
                positions[caller] = firstIndex + states.count - 1
                return r
            }
        }
    }

    public subscript(key: JSONValue) -> JSONValue? { states.last!.map[key] }
}

/// lww-kv as the 0.2.x code behaves: two replicas, each request served by a random one, and the
/// replicas never merge. Evnode does not build on it; it exists so that nodes that do can be
/// shown to fail.
public final class LWWKV: SimService {
    private var replicas = [KVState(), KVState()]
    private var rng: SimRandom

    public init(network: SimNetwork, rng: SimRandom) {
        self.rng = rng
        super.init(id: "lww-kv", network: network)
    }

    override func handle(type: String, body: JSONValue, caller: String) -> [(String, JSONValue)] {
        let i = rng.int(0...(replicas.count - 1))
        return replicas[i].serve(type: type, body: body, createIfMissing: false)
    }
}

/// lin-tso: a strictly increasing timestamp oracle.
public final class LinTSO: SimService {
    private var next = 0
    public init(network: SimNetwork) { super.init(id: "lin-tso", network: network) }

    override func handle(type: String, body: JSONValue, caller: String) -> [(String, JSONValue)] {
        guard type == "ts" else { return KVState.error(.notSupported, "unsupported request \(type)") }
        defer { next += 1 }
        return [("type", "ts_ok"), ("ts", .int(next))]
    }
}

import EVCheckers
import EVCore
import EVSimCore
import Workloads

/// Challenges 5a–5c's workload, kafka (protocol reference §9.5), with Maelstrom's client behaviour:
/// - each worker's client keeps a map key → next offset to poll and a set of assigned keys;
/// - operations are single `send`s or single `poll`s (about half each); after a poll that returned
///   messages the client commits the highest offset it got per key, and the poll operation fails
///   (or becomes unknown) if that commit does;
/// - about 1 operation in 64 is an `assign`: a few active keys (plus, a third of the time, keys
///   with sends nobody has polled yet), `list_committed_offsets`, then each key starts at the
///   client's own position, else the committed offset, else 0;
/// - a key takes `maxWritesPerKey` sends, then is retired for a fresh one;
/// - final phase: each worker's client starts afresh, is assigned every key from offset 0 and polls
///   every 200 ms until it has caught up with the highest offsets seen (at most 10 s).
/// An :info result gives the worker a fresh client (the runner replaces it; its state resets here).
/// Checked by `KafkaChecker`.
public final class KafkaModel: WorkloadModel {
    public let kind = WorkloadKind.kafka
    public var hasFinalPhase: Bool { true }

    public struct Options: Sendable {
        /// `--key-count`: keys being written at a time.
        public var keyCount = 8
        /// `--max-writes-per-key`.
        public var maxWritesPerKey = 16
        /// Fraction of operations that are assigns.
        public var assignFraction = 1.0 / 64
        public var finalPollInterval: Micros = .ms(200)
        /// Maelstrom clips the final phase to 10 s.
        public var finalPhaseLimit: Micros = .seconds(10)
        public init() {}
    }

    public let options: Options

    // Generator state.
    private var activeKeys: [Int]
    private var nextKey: Int
    private var writesPerKey: [Int: Int] = [:]
    private var nextMessage = 1
    /// Every key ever written, in order of first use.
    private var allKeys: [String] = []

    // What the clients have seen, for assigns and the final catch-up.
    private var highestSent: [String: Int] = [:]
    private var highestPolled: [String: Int] = [:]

    private var clients: [Int: ClientState] = [:]

    struct ClientState {
        var assigned: [String] = []
        /// Next offset to poll per key.
        var positions: [String: Int] = [:]
    }

    static let sendSchema = ReplySchema(type: "send_ok", fields: [("offset", .int)])
    static let pollSchema = ReplySchema(type: "poll_ok", fields: [("msgs", .object)])
    static let commitSchema = ReplySchema(type: "commit_offsets_ok")
    static let listSchema = ReplySchema(type: "list_committed_offsets_ok", fields: [("offsets", .intMap)])

    public init(_ options: Options = Options()) {
        self.options = options
        activeKeys = Array(0..<max(options.keyCount, 1))
        nextKey = activeKeys.count
    }

    // MARK: generator

    public func nextOperation(worker: Int, rng: inout SimRandom) -> (f: String, value: JSONValue) {
        if rng.unit() < options.assignFraction {
            return ("assign", ["keys": .array(assignKeys(&rng).map { .string($0) })])
        }
        if rng.unit() < 0.5 { return ("poll", .null) }
        let slot = rng.int(0...activeKeys.count - 1)
        if writesPerKey[activeKeys[slot], default: 0] >= options.maxWritesPerKey {
            activeKeys[slot] = nextKey
            nextKey += 1
        }
        let key = activeKeys[slot]
        writesPerKey[key, default: 0] += 1
        if writesPerKey[key] == 1 { allKeys.append(String(key)) }
        defer { nextMessage += 1 }
        return ("send", ["key": .string(String(key)), "msg": .int(nextMessage)])
    }

    /// One to three active keys, plus, a third of the time, up to two keys with unpolled sends.
    private func assignKeys(_ rng: inout SimRandom) -> [String] {
        var keys: [String] = []
        for _ in 0..<rng.int(1...3) {
            let k = String(activeKeys[rng.int(0...activeKeys.count - 1)])
            if !keys.contains(k) { keys.append(k) }
        }
        if rng.int(0...2) == 0 {
            let unpolled = allKeys.filter { k in (highestSent[k] ?? -1) > (highestPolled[k] ?? -1) && !keys.contains(k) }
            for _ in 0..<min(2, unpolled.count) {
                let k = unpolled[rng.int(0...unpolled.count - 1)]
                if !keys.contains(k) { keys.append(k) }
            }
        }
        return keys
    }

    public func nextFinalOperation(worker: Int, completed: Int) -> (f: String, value: JSONValue, after: Micros)? {
        if completed == 0 {
            return ("assign", ["keys": .array(allKeys.map { .string($0) }), "seek-to-beginning": true], 0)
        }
        let maxPolls = Int(options.finalPhaseLimit / max(options.finalPollInterval, 1))
        if completed > maxPolls || caughtUp(worker) { return nil }
        return ("poll", .null, completed == 1 ? 0 : options.finalPollInterval)
    }

    /// The worker's positions are past the highest offset anyone saw, for every key.
    private func caughtUp(_ worker: Int) -> Bool {
        let positions = clients[worker]?.positions ?? [:]
        for key in allKeys {
            let highest = max(highestSent[key] ?? -1, highestPolled[key] ?? -1)
            if highest >= 0 && (positions[key] ?? 0) <= highest { return false }
        }
        return true
    }

    // MARK: client

    public func execute(f: String, value: JSONValue, worker: Int,
                        call: @escaping (JSONValue, @escaping (JSONValue?) -> Void) -> Void,
                        complete: @escaping (Outcome) -> Void) {
        // An :info result means the runner replaces this worker's client: start the new one afresh.
        let finish: (Outcome) -> Void = { [weak self] outcome in
            if case .info = outcome { self?.clients[worker] = ClientState() }
            complete(outcome)
        }
        switch f {
        case "send": send(value, call: call, complete: finish)
        case "poll": poll(worker, call: call, complete: finish)
        case "assign": assign(value, worker: worker, call: call, complete: finish)
        default: finish(.fail("unknown operation \(f)"))
        }
    }

    private func send(_ value: JSONValue, call: (JSONValue, @escaping (JSONValue?) -> Void) -> Void,
                      complete: @escaping (Outcome) -> Void) {
        guard let key = value["key"]?.string, let msg = value["msg"] else { return complete(.fail("bad send value")) }
        call(["type": "send", "key": .string(key), "msg": msg]) { [weak self] reply in
            let outcome = classify(reply, schema: Self.sendSchema) { r in
                ["key": .string(key), "msg": msg, "offset": r["offset"] ?? .null]
            }
            if case .ok(let v) = outcome, let offset = v["offset"]?.int, let self {
                self.highestSent[key] = max(self.highestSent[key] ?? -1, offset)
            }
            complete(outcome)
        }
    }

    private func poll(_ worker: Int, call: @escaping (JSONValue, @escaping (JSONValue?) -> Void) -> Void,
                      complete: @escaping (Outcome) -> Void) {
        let state = clients[worker] ?? ClientState()
        let requested: [(String, JSONValue)] = state.assigned.map { ($0, .int(state.positions[$0] ?? 0)) }
        call(["type": "poll", "offsets": .object(requested)]) { [weak self] reply in
            guard let self else { return }
            let outcome = classify(reply, schema: Self.pollSchema) { $0["msgs"] ?? [:] }
            guard case .ok(let msgs) = outcome else { return complete(outcome) }
            guard let received = KafkaChecker.parseMessages(msgs) else {
                return complete(.info("malformed-response: msgs is not key → [[offset, msg], …]"))
            }
            let result: JSONValue = ["offsets": .object(requested), "msgs": msgs]
            let highest = received.compactMap { key, pairs in pairs.map(\.offset).max().map { (key, $0) } }
            guard !highest.isEmpty else { return complete(.ok(result)) }
            let commit: [(String, JSONValue)] = highest.map { ($0.0, .int($0.1)) }
            call(["type": "commit_offsets", "offsets": .object(commit)]) { [weak self] reply in
                guard let self else { return }
                switch classify(reply, schema: Self.commitSchema, okValue: { _ in .null }) {
                case .ok:
                    var state = self.clients[worker] ?? ClientState()
                    for (key, offset) in highest {
                        state.positions[key] = offset + 1
                        self.highestPolled[key] = max(self.highestPolled[key] ?? -1, offset)
                    }
                    self.clients[worker] = state
                    complete(.ok(["offsets": .object(requested), "msgs": msgs, "committed": .object(commit)]))
                case .fail(let why): complete(.fail("commit_offsets failed: \(why)"))
                case .info(let why): complete(.info("commit_offsets unknown: \(why)"))
                }
            }
        }
    }

    private func assign(_ value: JSONValue, worker: Int, call: (JSONValue, @escaping (JSONValue?) -> Void) -> Void,
                        complete: @escaping (Outcome) -> Void) {
        let keys = value["keys"]?.array?.compactMap(\.string) ?? []
        if value["seek-to-beginning"] == .bool(true) {
            // The final phase's fresh client: every key from offset 0, nothing asked of the node.
            clients[worker] = ClientState(assigned: keys, positions: [:])
            return complete(.ok(value))
        }
        call(["type": "list_committed_offsets", "keys": .array(keys.map { .string($0) })]) { [weak self] reply in
            guard let self else { return }
            // assign is idempotent for Maelstrom: a timeout or error is a definite failure.
            let outcome = classify(reply, schema: Self.listSchema, idempotent: true) { $0["offsets"] ?? [:] }
            guard case .ok(let committed) = outcome else { return complete(outcome) }
            var state = self.clients[worker] ?? ClientState()
            state.assigned = keys
            for key in keys where state.positions[key] == nil {
                // "Committed" means everything up to and including it was processed; Maelstrom's
                // client starts at that offset again rather than after it.
                state.positions[key] = committed[key]?.int ?? 0
            }
            self.clients[worker] = state
            complete(.ok(["keys": value["keys"] ?? [], "offsets": committed]))
        }
    }

    public func check(_ history: [Operation]) -> CheckResult { KafkaChecker.check(history) }

    public func lost(_ result: TestResult) -> Int? { result.results["workload"]?["lost-write"]?["count"]?.int ?? 0 }

    public func invariants(_ history: [Operation], cluster: Cluster) -> [InvariantResult] {
        [Invariants.kafkaCommittedOffsetsMonotonicPerNode(history)]
    }
}

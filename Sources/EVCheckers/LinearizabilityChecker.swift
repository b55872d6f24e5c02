import EVCore

/// Linearizability of independent compare-and-set registers, one per key: Maelstrom's lin-kv
/// workload, which Maelstrom checks with Knossos. Each key is checked on its own (a history is
/// linearizable iff each key's subhistory is), by `RegisterSearch`; a key starts absent.
///
/// Operation encoding (Jepsen's independent-key tuples):
/// - `f: "read"`, value `[key, null]`; an :ok completion carries `[key, v]`, or `[key, null]` when
///   the key does not exist (error 20 on a read is an :ok read of null);
/// - `f: "write"`, value `[key, v]`;
/// - `f: "cas"`, value `[key, [from, to]]`; error 22 (precondition failed) and error 20 (no such
///   key) are definite, so :fail.
/// Written values are non-null JSON values, compared by equality. Other `f`s are ignored.
///
/// Outcomes: :fail did not happen and is dropped; a write or cas that is :info (or never completed)
/// may take effect at any point after its invocation, or never; a read that is not :ok is dropped
/// (it changes nothing). Order: the history's event indices when the runner set them, otherwise
/// times, where a completion at the same instant as an invocation counts as earlier.
public struct LinearizabilityChecker {
    /// Configurations the search may explore per key before that key's answer is :unknown. Each
    /// costs a memo entry of about (ok ops of the key / 64 + :info effects + 2) words. Valid
    /// histories need few (a path is found greedily); proving a long key with many :info ops
    /// invalid can need more than any budget, because every way of using them is explored.
    public var maxStatesPerKey: Int
    /// Failures described in full (each invalid key is counted regardless).
    public var maxFailures = 8

    public init(maxStatesPerKey: Int = 1_000_000) {
        self.maxStatesPerKey = maxStatesPerKey
    }

    /// One key's calls with their register values interned: 0 is absent, then values by first use.
    private struct KeyHistory {
        let key: JSONValue
        var values: [JSONValue] = [.null]
        var valueIDs: [JSONValue: Int] = [.null: 0]
        var calls: [RegisterCall] = []
        var ops: [RegisterOp<JSONValue>] = []

        init(key: JSONValue) { self.key = key }

        mutating func add(_ op: RegisterOp<JSONValue>, historyIndex: Int, invoke: Int64, complete: Int64?) {
            let interned = op.map { v in
                valueIDs[v] ?? { values.append(v); valueIDs[v] = values.count - 1; return values.count - 1 }()
            }
            calls.append(RegisterCall(historyIndex: historyIndex, op: interned, invoke: invoke, complete: complete))
            ops.append(op)
        }
    }

    public func check(_ history: [Operation]) -> CheckResult {
        let indexed = !history.isEmpty && history.allSatisfy { $0.invokeIndex >= 0 && ($0.completedAt == nil || $0.completeIndex >= 0) }
        var keys: [KeyHistory] = []
        var slotOf: [JSONValue: Int] = [:]
        var malformed: [JSONValue] = []
        var infoCount = 0
        for (i, op) in history.enumerated() {
            let key: JSONValue, call: RegisterOp<JSONValue>
            switch Self.decode(op) {
            case .ignored: continue
            case .malformed: malformed.append(Self.json(op, index: i)); continue
            case .call(let k, let c): (key, call) = (k, c)
            }
            let slot = slotOf[key] ?? { keys.append(KeyHistory(key: key)); slotOf[key] = keys.count - 1; return keys.count - 1 }()
            let invoke = indexed ? Int64(op.invokeIndex) : op.invokedAt * 2 + 1
            var complete: Int64?
            if op.outcome?.isOK == true, let t = op.completedAt { complete = indexed ? Int64(op.completeIndex) : t * 2 }
            if complete == nil { infoCount += 1 }
            keys[slot].add(call, historyIndex: i, invoke: invoke, complete: complete)
        }

        var failures: [JSONValue] = []
        var invalidKeys: [JSONValue] = [], unknownKeys: [JSONValue] = []
        var explored = 0
        for k in keys {
            let (verdict, n) = RegisterSearch(calls: k.calls).run(maxStates: maxStatesPerKey)
            explored += n
            switch verdict {
            case .linearizable: break
            case .gaveUp: unknownKeys.append(k.key)
            case .notLinearizable(let stuck):
                invalidKeys.append(k.key)
                if failures.count < maxFailures { failures.append(explain(stuck, of: k, in: history)) }
            }
        }
        var verdicts: [Validity] = invalidKeys.isEmpty ? [] : [.invalid]
        if !unknownKeys.isEmpty || !malformed.isEmpty { verdicts.append(.unknown) }
        let validity = Validity.combine(verdicts)

        return CheckResult(validity: validity, details: .object([
            ("valid?", validity.json),
            ("key-count", .int(keys.count)),
            ("op-count", .int(keys.reduce(0) { $0 + $1.calls.count })),
            ("info-count", .int(infoCount)),
            ("invalid-keys", .array(invalidKeys)),
            ("unknown-keys", .array(unknownKeys)),
            ("failures", .array(failures)),
            ("malformed-count", .int(malformed.count)),
            ("malformed", .array(Array(malformed.prefix(maxFailures)))),
            ("states-explored", .int(explored)),
            ("max-states-per-key", .int(maxStatesPerKey)),
        ]))
    }

    private enum Decoded {
        /// Not a register op, or nothing to check: a :fail, a read without an :ok.
        case ignored
        /// A register op that does not follow the encoding.
        case malformed
        case call(key: JSONValue, RegisterOp<JSONValue>)
    }

    private static func decode(_ op: Operation) -> Decoded {
        guard ["read", "write", "cas"].contains(op.f) else { return .ignored }
        if case .fail? = op.outcome { return .ignored }
        guard let args = op.value.array, args.count == 2 else { return .malformed }
        let key = args[0], arg = args[1]
        switch op.f {
        case "read":
            guard let result = op.outcome?.okValue else { return .ignored }
            guard let r = result.array, r.count == 2, r[0] == key else { return .malformed }
            return .call(key: key, .read(r[1]))
        case "write":
            return arg.isNull ? .malformed : .call(key: key, .write(arg))
        default:
            guard let fromTo = arg.array, fromTo.count == 2, !fromTo[0].isNull, !fromTo[1].isNull else { return .malformed }
            return .call(key: key, .cas(from: fromTo[0], to: fromTo[1]))
        }
    }

    // MARK: explaining a failure

    private func explain(_ stuck: RegisterSearch.Stuck, of k: KeyHistory, in history: [Operation]) -> JSONValue {
        func describe(_ call: Int) -> String {
            let i = k.calls[call].historyIndex, op = history[i]
            let what: String
            switch k.ops[call] {
            case .read(let v): what = "read → \(Self.show(v))"
            case .write(let v): what = "write \(Self.show(v))"
            case .cas(let from, let to): what = "cas \(Self.show(from))→\(Self.show(to))"
            }
            let when = k.calls[call].complete == nil
                ? ":info, invoked \(Self.ms(op.invokedAt)) ms"
                : "\(Self.ms(op.invokedAt))–\(Self.ms(op.completedAt!)) ms"
            return "#\(i) p\(op.process) \(what) (\(when))"
        }
        let okCount = k.calls.filter { $0.complete != nil }.count
        // nil first, then numbers, then anything else by its text.
        let values = stuck.states.map { k.values[$0] }
            .sorted { ($0.isNull ? 0 : 1, $0.int ?? .max, $0.text) < ($1.isNull ? 0 : 1, $1.int ?? .max, $1.text) }
        let concurrent = stuck.concurrent.isEmpty ? "none" : stuck.concurrent.map(describe).joined(separator: "; ")
        let text = "key \(k.key.text): after \(stuck.linearizedCount) of \(okCount) ok ops, no linearization gets past "
            + "\(describe(stuck.blocked)). Concurrent with it: \(concurrent). Values the register could hold where it "
            + "could take effect: " + values.map(Self.show).joined(separator: ", ") + "."
        return .object([
            ("key", k.key),
            ("explanation", .string(text)),
            ("blocked-op", Self.json(history[k.calls[stuck.blocked].historyIndex], index: k.calls[stuck.blocked].historyIndex)),
            ("concurrent-ops", .array(stuck.concurrent.map { Self.json(history[k.calls[$0].historyIndex], index: k.calls[$0].historyIndex) })),
            ("possible-values", .array(values)),
            ("linearized-count", .int(stuck.linearizedCount)),
        ])
    }

    private static func show(_ v: JSONValue) -> String { v.isNull ? "nil" : v.text }

    /// Micros as milliseconds, without a fraction when whole.
    private static func ms(_ t: Micros) -> String {
        t % 1000 == 0 ? "\(t / 1000)" : "\(Double(t) / 1000)"
    }

    private static func json(_ op: Operation, index: Int) -> JSONValue {
        let result: JSONValue
        switch op.outcome {
        case .ok(let v)?: result = v
        case .fail(let e)?: result = .string("fail: \(e)")
        case .info(let e)?: result = .string("info: \(e)")
        case nil: result = "never completed"
        }
        return .object([
            ("index", .int(index)), ("process", .int(op.process)), ("f", .string(op.f)), ("value", op.value),
            ("result", result), ("invoked-ms", .double(Double(op.invokedAt) / 1000)),
            ("completed-ms", op.completedAt.map { .double(Double($0) / 1000) } ?? .null),
        ])
    }
}

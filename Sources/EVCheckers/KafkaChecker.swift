import EVCore

/// The kafka checker: the error types of Jepsen's kafka analysis that invalidate a Maelstrom run
/// (protocol reference §9.5), minus the dependency-cycle search, plus committed offsets going
/// backwards:
/// - `inconsistent-offsets`: two observations (acknowledged sends, polls) put different messages at
///   one (key, offset);
/// - `duplicate`: one message of a key at more than one offset;
/// - `lost-write`: an acknowledged send at an offset ≤ the highest polled offset of its key that no
///   poll ever returned;
/// - `poll-skip` / `nonmonotonic-poll`: between two successful polls of one process (no assign in
///   between), the second started past a known offset / did not start after the first's last one;
/// - `int-poll-skip` / `int-nonmonotonic-poll`: the same inside one poll's run for a key;
/// - `nonmonotonic-send`: a process's successive acknowledged sends to a key got non-increasing
///   offsets;
/// - `G1a`: a poll returned a message whose send failed definitely;
/// - `unseen`: an acknowledged send that no poll ever returned;
/// - `committed-offset-regression`: list_committed_offsets returned less for a key (or nothing)
///   than a commit or list that completed before it was invoked.
/// Also reports latency quantiles (µs of virtual time) per operation.
public enum KafkaChecker {
    public static let errorTypes = ["inconsistent-offsets", "duplicate", "lost-write", "poll-skip", "nonmonotonic-poll",
                                    "int-poll-skip", "int-nonmonotonic-poll", "nonmonotonic-send", "G1a", "unseen",
                                    "committed-offset-regression"]

    struct KeyMessage: Hashable {
        let key: String
        let msg: JSONValue
    }

    public static func check(_ history: [Operation]) -> CheckResult {
        var errors: [String: [JSONValue]] = [:]
        func report(_ type: String, _ detail: JSONValue) { errors[type, default: []].append(detail) }

        // Pass 1: every observation of (key, offset, message).
        var messagesAt: [String: [Int: Set<JSONValue>]] = [:]
        var offsetsOf: [KeyMessage: Set<Int>] = [:]
        var polled: Set<KeyMessage> = []
        var highestPolled: [String: Int] = [:]
        var acknowledged: [(key: String, msg: JSONValue, offset: Int)] = []
        var failedSends: Set<KeyMessage> = []
        func observe(_ key: String, _ offset: Int, _ msg: JSONValue) {
            messagesAt[key, default: [:]][offset, default: []].insert(msg)
            offsetsOf[KeyMessage(key: key, msg: msg), default: []].insert(offset)
        }
        var polls: [Int: [(key: String, pairs: [(offset: Int, msg: JSONValue)])]] = [:] // by history index
        for (i, op) in history.enumerated() {
            switch op.f {
            case "send":
                guard let key = op.value["key"]?.string, let msg = op.value["msg"] else { continue }
                switch op.outcome {
                case .ok(let v)?:
                    guard let offset = v["offset"]?.int else { continue }
                    acknowledged.append((key, msg, offset))
                    observe(key, offset, msg)
                case .fail?: failedSends.insert(KeyMessage(key: key, msg: msg))
                default: break
                }
            case "poll":
                guard let v = op.outcome?.okValue, let msgs = v["msgs"],
                      let parsed = parseMessages(msgs) else { continue }
                polls[i] = parsed
                for (key, pairs) in parsed {
                    for (offset, msg) in pairs {
                        observe(key, offset, msg)
                        polled.insert(KeyMessage(key: key, msg: msg))
                        highestPolled[key] = max(highestPolled[key] ?? -1, offset)
                    }
                }
            default: break
            }
        }
        let knownOffsets = messagesAt.mapValues { $0.keys.sorted() }
        /// Whether some offset strictly between `a` and `b` is known to hold a message.
        func knownBetween(_ key: String, _ a: Int, _ b: Int) -> Int? {
            guard let sorted = knownOffsets[key] else { return nil }
            var lo = 0, hi = sorted.count // first index with sorted[i] > a
            while lo < hi {
                let mid = (lo + hi) / 2
                if sorted[mid] > a { hi = mid } else { lo = mid + 1 }
            }
            return lo < sorted.count && sorted[lo] < b ? sorted[lo] : nil
        }

        for key in messagesAt.keys.sorted() {
            for (offset, msgs) in messagesAt[key]!.sorted(by: { $0.key < $1.key }) where msgs.count > 1 {
                report("inconsistent-offsets", ["key": .string(key), "offset": .int(offset),
                                                "values": .array(msgs.sorted { $0.text < $1.text })])
            }
        }
        for (km, offsets) in offsetsOf.sorted(by: { ($0.key.key, $0.key.msg.text) < ($1.key.key, $1.key.msg.text) })
            where offsets.count > 1 {
            report("duplicate", ["key": .string(km.key), "msg": km.msg, "offsets": .array(offsets.sorted().map(JSONValue.int))])
        }
        for send in acknowledged where !polled.contains(KeyMessage(key: send.key, msg: send.msg)) {
            let detail: JSONValue = ["key": .string(send.key), "msg": send.msg, "offset": .int(send.offset)]
            report("unseen", detail)
            if let highest = highestPolled[send.key], send.offset <= highest {
                report("lost-write", ["key": .string(send.key), "msg": send.msg, "offset": .int(send.offset),
                                      "highest-polled-offset": .int(highest)])
            }
        }
        for km in polled.intersection(failedSends).sorted(by: { ($0.key, $0.msg.text) < ($1.key, $1.msg.text) }) {
            report("G1a", ["key": .string(km.key), "msg": km.msg])
        }

        // Pass 2: per process, in order (a process runs one operation at a time).
        var lastPolled: [Int: [String: Int]] = [:]
        var lastSent: [Int: [String: Int]] = [:]
        for (i, op) in history.enumerated() {
            switch op.f {
            case "assign" where op.outcome?.isOK == true:
                lastPolled[op.process] = [:] // skips and reorderings are not tracked across an assign
            case "send":
                guard let key = op.value["key"]?.string, let offset = op.outcome?.okValue?["offset"]?.int else { continue }
                if let previous = lastSent[op.process]?[key], offset <= previous {
                    report("nonmonotonic-send", ["process": .int(op.process), "key": .string(key),
                                                 "offsets": [.int(previous), .int(offset)]])
                }
                lastSent[op.process, default: [:]][key] = offset
            case "poll":
                guard let parsed = polls[i] else { continue }
                for (key, pairs) in parsed where !pairs.isEmpty {
                    for j in pairs.indices.dropFirst() {
                        let (a, b) = (pairs[j - 1].offset, pairs[j].offset)
                        if b <= a {
                            report("int-nonmonotonic-poll", ["process": .int(op.process), "key": .string(key),
                                                             "offsets": [.int(a), .int(b)]])
                        } else if let skipped = knownBetween(key, a, b) {
                            report("int-poll-skip", ["process": .int(op.process), "key": .string(key),
                                                     "offsets": [.int(a), .int(b)], "skipped": .int(skipped)])
                        }
                    }
                    let first = pairs[0].offset
                    if let previous = lastPolled[op.process]?[key] {
                        if first <= previous {
                            report("nonmonotonic-poll", ["process": .int(op.process), "key": .string(key),
                                                         "offsets": [.int(previous), .int(first)]])
                        } else if let skipped = knownBetween(key, previous, first) {
                            report("poll-skip", ["process": .int(op.process), "key": .string(key),
                                                 "offsets": [.int(previous), .int(first)], "skipped": .int(skipped)])
                        }
                    }
                    lastPolled[op.process, default: [:]][key] = pairs.map(\.offset).max()!
                }
            default: break
            }
        }

        checkCommittedOffsets(history, report: report)

        let found = errorTypes.filter { errors[$0] != nil }
        let okSends = acknowledged.count
        let okPolls = polls.count
        let validity: Validity = !found.isEmpty ? .invalid : (okSends == 0 || okPolls == 0 ? .unknown : .valid)
        var members: [(String, JSONValue)] = [("valid?", validity.json)]
        members.append(("error-types", .array(found.map { .string($0) })))
        for type in found {
            let list = errors[type]!
            members.append((type, ["count": .int(list.count), "examples": .array(Array(list.prefix(8)))]))
        }
        members.append(("send-count", .int(okSends)))
        members.append(("poll-count", .int(okPolls)))
        members.append(("key-count", .int(messagesAt.count)))
        members.append(("latencies-us", latencies(history)))
        return CheckResult(validity: validity, details: .object(members))
    }

    /// Committed offsets never go backwards: a list must return, for each key it asks about, at least
    /// the highest offset committed (by a successful poll's commit) or listed before it was invoked.
    static func checkCommittedOffsets(_ history: [Operation], report: (String, JSONValue) -> Void) {
        var observations: [(at: Micros, offsets: [(String, JSONValue)])] = []
        var lists: [(op: Operation, keys: [String], offsets: JSONValue)] = []
        for op in history {
            guard let v = op.outcome?.okValue, let done = op.completedAt else { continue }
            if op.f == "poll", let committed = v["committed"]?.members {
                observations.append((done, committed))
            } else if op.f == "assign", op.value["seek-to-beginning"] != .bool(true), let offsets = v["offsets"] {
                observations.append((done, offsets.members ?? []))
                lists.append((op, v["keys"]?.array?.compactMap(\.string) ?? [], offsets))
            }
        }
        observations.sort { $0.at < $1.at }
        lists.sort { $0.op.invokedAt < $1.op.invokedAt }
        var floor: [String: Int] = [:]
        var next = 0
        for list in lists {
            while next < observations.count && observations[next].at < list.op.invokedAt {
                for (key, value) in observations[next].offsets {
                    if let v = value.int { floor[key] = max(floor[key] ?? -1, v) }
                }
                next += 1
            }
            for key in list.keys {
                guard let least = floor[key] else { continue }
                let listed = list.offsets[key]?.int
                if (listed ?? -1) < least {
                    report("committed-offset-regression", ["process": .int(list.op.process), "key": .string(key),
                                                           "listed": listed.map(JSONValue.int) ?? .null,
                                                           "earlier": .int(least)])
                }
            }
        }
    }

    /// Quantiles of successful operations' latencies per :f, in µs of virtual time.
    static func latencies(_ history: [Operation]) -> JSONValue {
        var byF: [String: [Int]] = [:]
        for op in history where op.outcome?.isOK == true {
            guard let done = op.completedAt else { continue }
            byF[op.f, default: []].append(Int(done - op.invokedAt))
        }
        return .object(byF.keys.sorted().map { ($0, quantileMap(byF[$0]!)) })
    }

    /// `{key: [[offset, msg], …]}` as (key, pairs); nil if the shape is wrong.
    public static func parseMessages(_ msgs: JSONValue) -> [(key: String, pairs: [(offset: Int, msg: JSONValue)])]? {
        guard let members = msgs.members else { return nil }
        var out: [(key: String, pairs: [(offset: Int, msg: JSONValue)])] = []
        for (key, list) in members {
            guard let items = list.array else { return nil }
            var pairs: [(offset: Int, msg: JSONValue)] = []
            for item in items {
                guard let pair = item.array, pair.count == 2, let offset = pair[0].int else { return nil }
                pairs.append((offset, pair[1]))
            }
            out.append((key, pairs))
        }
        return out
    }
}

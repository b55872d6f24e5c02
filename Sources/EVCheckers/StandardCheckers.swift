import EVCore

/// The checkers Maelstrom runs for every workload, next to the workload's own (reference §8).
public enum StandardCheckers {
    /// `:stats`: completion counts overall and per `:f`; invalid if some `:f` never succeeded.
    /// An operation left without a completion counts as :info (Jepsen treats it as indeterminate).
    public static func stats(_ history: [Operation], exempt: Set<String> = []) -> CheckResult {
        struct Counts { var count = 0, ok = 0, fail = 0, info = 0 }
        var total = Counts()
        var byF: [String: Counts] = [:]
        for op in history {
            var c = byF[op.f] ?? Counts()
            c.count += 1
            total.count += 1
            switch op.outcome {
            case .ok?: c.ok += 1; total.ok += 1
            case .fail?: c.fail += 1; total.fail += 1
            case .info?, nil: c.info += 1; total.info += 1
            }
            byF[op.f] = c
        }
        func map(_ c: Counts, valid: Bool) -> [(String, JSONValue)] {
            [("valid?", .bool(valid)), ("count", .int(c.count)), ("ok-count", .int(c.ok)),
             ("fail-count", .int(c.fail)), ("info-count", .int(c.info))]
        }
        var allValid = true
        var byFMembers: [(String, JSONValue)] = []
        for f in byF.keys.sorted() {
            let c = byF[f]!
            let valid = c.ok > 0 || exempt.contains(f)
            allValid = allValid && valid
            byFMembers.append((f, .object(map(c, valid: valid))))
        }
        var members = map(total, valid: allValid)
        members.append(("by-f", .object(byFMembers)))
        return CheckResult(validity: allValid ? .valid : .invalid, details: .object(members))
    }

    /// `:availability`: ok-fraction = ok completions / invocations, against `--availability`.
    public static func availability(_ history: [Operation], requirement: AvailabilityRequirement) -> CheckResult {
        let ok = history.filter { $0.outcome?.isOK == true }.count
        let fraction = history.isEmpty ? 1.0 : Double(ok) / Double(history.count)
        let valid: Bool
        switch requirement {
        case .none: valid = true
        case .total: valid = ok == history.count
        case .fraction(let a): valid = fraction >= a
        }
        return CheckResult(validity: valid ? .valid : .invalid,
                           details: ["valid?": .bool(valid), "ok-fraction": .double(rounded(fraction, places: 6))])
    }

    /// `:net`: message counts; msgs-per-op = msg-count / invoked client operations (reference §8.2).
    public static func net(_ stats: MessageCounts, operationCount: Int) -> CheckResult {
        func perOp(_ count: Int) -> JSONValue {
            operationCount == 0 ? .null : .double(rounded(Double(count) / Double(operationCount), places: 4))
        }
        let all: JSONValue = ["send-count": .int(stats.allSends), "recv-count": .int(stats.allReceives),
                              "msg-count": .int(stats.allSends), "msgs-per-op": perOp(stats.allSends)]
        let clients: JSONValue = ["send-count": .int(stats.clientSends), "recv-count": .int(stats.clientReceives),
                                  "msg-count": .int(stats.clientSends)]
        let servers: JSONValue = ["send-count": .int(stats.serverSends), "recv-count": .int(stats.serverReceives),
                                  "msg-count": .int(stats.serverSends), "msgs-per-op": perOp(stats.serverSends)]
        return CheckResult(validity: .valid, details: ["all": all, "clients": clients, "servers": servers, "valid?": true])
    }

    public static func rounded(_ x: Double, places: Int) -> Double {
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        return (x * scale).rounded() / scale
    }
}

/// Jepsen's quantile: sorted[floor(n·q)], clamped to the last element (reference §9.3).
public func quantile(_ sorted: [Int], _ q: Double) -> Int? {
    guard !sorted.isEmpty else { return nil }
    let i = Int((Double(sorted.count) * q).rounded(.down))
    return sorted[min(max(i, 0), sorted.count - 1)]
}

/// A quantile map {"0": …, "0.5": …, "0.95": …, "0.99": …, "1": …} as Maelstrom prints it.
public func quantileMap(_ values: [Int], qs: [Double] = [0, 0.5, 0.95, 0.99, 1]) -> JSONValue {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return .object([]) }
    return .object(qs.map { q in (compactNumber(q), .int(quantile(sorted, q)!)) })
}

/// `--availability`: nothing, `total` (every op must be ok), or a minimum ok fraction.
public enum AvailabilityRequirement: Equatable, Sendable {
    case none, total
    case fraction(Double)
}

/// Message counts as Maelstrom's :net checker reports them (protocol reference §8.2): sends and
/// receives of client traffic and of server traffic (node↔node, node↔service).
public struct MessageCounts: Sendable, Equatable {
    public var clientSends = 0, clientReceives = 0
    public var serverSends = 0, serverReceives = 0

    public init(clientSends: Int = 0, clientReceives: Int = 0, serverSends: Int = 0, serverReceives: Int = 0) {
        self.clientSends = clientSends
        self.clientReceives = clientReceives
        self.serverSends = serverSends
        self.serverReceives = serverReceives
    }

    public var allSends: Int { clientSends + serverSends }
    public var allReceives: Int { clientReceives + serverReceives }
}

/// A number as Maelstrom's options and quantile keys print it: 20, not 20.0; 0.95 as is.
public func compactNumber(_ v: Double) -> String {
    v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : String(v)
}

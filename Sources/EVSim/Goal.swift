import EVCheckers
import EVCore
import EVSimCore

/// An extra numeric pass criterion of a challenge (e.g. 3d's "servers msgs-per-op < 30"), read
/// from the result map. Maelstrom does not check these; the challenge pages ask for them.
public struct Goal: Sendable {
    /// How the value must compare with the limit.
    public enum Bound: Sendable {
        /// value < limit.
        case below
        /// value ≤ limit.
        case atMost
        /// value ≥ limit (e.g. availability).
        case atLeast
    }

    public let description: String
    /// Keys into the result map, e.g. ["net", "servers", "msgs-per-op"].
    public let path: [String]
    public let limit: Double
    public let bound: Bound

    public init(_ description: String, path: [String], limit: Double, bound: Bound) {
        self.description = description
        self.path = path
        self.limit = limit
        self.bound = bound
    }

    public init(_ description: String, path: [String], below: Double) {
        self.init(description, path: path, limit: below, bound: .below)
    }

    public static func serverMsgsPerOp(below limit: Double) -> Goal {
        Goal("servers msgs-per-op < \(TestSpec.format(limit))", path: ["net", "servers", "msgs-per-op"], below: limit)
    }

    public static func serverMsgsPerOp(atMost limit: Double) -> Goal {
        Goal("servers msgs-per-op ≤ \(TestSpec.format(limit))", path: ["net", "servers", "msgs-per-op"], limit: limit, bound: .atMost)
    }

    /// lin-kv's availability: the fraction of operations answered :ok or with error 20 or 22.
    public static func answeredFraction(atLeast limit: Double) -> Goal {
        Goal("answered-fraction ≥ \(TestSpec.format(limit))", path: ["workload", "answered-fraction"], limit: limit, bound: .atLeast)
    }

    /// Maelstrom's availability: ok completions / invocations.
    public static func okFraction(atLeast limit: Double) -> Goal {
        Goal("ok-fraction ≥ \(TestSpec.format(limit))", path: ["availability", "ok-fraction"], limit: limit, bound: .atLeast)
    }

    /// lin-kv's and txn-list-append's operation latency (`OperationLatency`) at quantile `q`.
    public static func latency(_ q: String, atMostMS limit: Double) -> Goal {
        Goal("latency p\(Int((Double(q) ?? 0) * 100)) ≤ \(TestSpec.format(limit)) ms", path: ["workload", "latencies", q], limit: limit, bound: .atMost)
    }

    public static func medianStableLatency(belowMS limit: Double) -> Goal {
        Goal("stable-latency median < \(TestSpec.format(limit)) ms", path: ["workload", "stable-latencies", "0.5"], below: limit)
    }

    public static func maxStableLatency(belowMS limit: Double) -> Goal {
        Goal("stable-latency max < \(TestSpec.format(limit)) ms", path: ["workload", "stable-latencies", "1"], below: limit)
    }

    public func evaluate(_ results: JSONValue) -> GoalResult {
        var v: JSONValue? = results
        for key in path { v = v?[key] }
        let number = v?.number
        return GoalResult(goal: self, value: number, met: number.map(isMet) ?? false)
    }

    public func isMet(_ value: Double) -> Bool {
        switch bound {
        case .below: return value < limit
        case .atMost: return value <= limit
        case .atLeast: return value >= limit
        }
    }

    /// How far `value` has gone towards the limit and past it: 1 at the limit, above 1 beyond it.
    public func closeness(_ value: Double) -> Double {
        guard bound == .atLeast else { return value / limit }
        return value > 0 ? limit / value : .infinity
    }
}

public struct GoalResult: Sendable {
    public let goal: Goal
    /// nil when the result map has no number there (e.g. no value became stable): not met.
    public let value: Double?
    public let met: Bool
}

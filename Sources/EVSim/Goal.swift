import EVCheckers
import EVCore
import EVSimCore

/// An extra numeric pass criterion of a challenge (e.g. 3d's "servers msgs-per-op < 30"), read
/// from the result map. Maelstrom does not check these; the challenge pages ask for them.
public struct Goal: Sendable {
    public let description: String
    /// Keys into the result map, e.g. ["net", "servers", "msgs-per-op"].
    public let path: [String]
    /// The value must be strictly below this.
    public let below: Double

    public init(_ description: String, path: [String], below: Double) {
        self.description = description
        self.path = path
        self.below = below
    }

    public static func serverMsgsPerOp(below limit: Double) -> Goal {
        Goal("servers msgs-per-op < \(TestSpec.format(limit))", path: ["net", "servers", "msgs-per-op"], below: limit)
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
        let number: Double?
        switch v {
        case .int(let i)?: number = Double(i)
        case .double(let d)?: number = d
        default: number = nil
        }
        return GoalResult(goal: self, value: number, met: number.map { $0 < below } ?? false)
    }
}

public struct GoalResult: Sendable {
    public let goal: Goal
    /// nil when the result map has no number there (e.g. no value became stable): not met.
    public let value: Double?
    public let met: Bool
}

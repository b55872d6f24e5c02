import EVCheckers
import EVCore
import EVSimCore
import Workloads

/// Challenges 4 and 5a–5c (protocol reference §11) and the CRDT chapter's g-set and pn-counter
/// (§9.7, §9.8), with the exact options of their commands. The msgs-per-op goals are ours
/// (docs/gcounter.md, docs/kafka.md, docs/gset.md): the pages set no number.
extension Challenge {
    /// `-w g-set` as the CRDT chapter runs it (five nodes by default).
    public static var gSet: Challenge {
        var c = Challenge("g-set", "Grow-only set", workload: .gSet,
                          goals: [.serverMsgsPerOp(below: 1.0), .medianStableLatency(belowMS: 1000)],
                          model: { GSetModel() }) { spec in
            spec.timeLimit = 20
            spec.rate = 10
        }
        c.hubFlushSweep = ([250, 500, 1000, 1500, 2000, 3000], 5)
        return c
    }

    public static var gSetPartition: Challenge {
        Challenge("g-set-partition", "Grow-only set under partitions", workload: .gSet, goals: [.serverMsgsPerOp(below: 1.0)],
                  model: { GSetModel() }) { spec in
            spec.timeLimit = 30
            spec.rate = 10
            spec.nemesis = [.partition]
        }
    }

    public static var pnCounter: Challenge {
        Challenge("pn-counter", "PN-counter under partitions", workload: .pnCounter, goals: [.serverMsgsPerOp(below: 1.0)],
                  model: { GCounterModel(.pnCounter) }) { spec in
            spec.timeLimit = 30
            spec.rate = 10
            spec.nemesis = [.partition]
        }
    }

    public static var gCounter4: Challenge {
        Challenge("4", "Grow-only counter", workload: .gCounter, goals: [.serverMsgsPerOp(below: 0.5)],
                  model: { GCounterModel() }) { spec in
            spec.nodeCount = 3
            spec.rate = 100
            spec.timeLimit = 20
            spec.nemesis = [.partition]
        }
    }

    static func kafka(_ name: String, _ title: String, nodeCount: Int, goals: [Goal] = []) -> Challenge {
        Challenge(name, title, workload: .kafka, goals: goals, model: { KafkaModel() }) { spec in
            spec.nodeCount = nodeCount
            spec.concurrency = .perNode(2)
            spec.timeLimit = 20
            spec.rate = 1000
        }
    }

    public static var kafka5a: Challenge { kafka("5a", "Single-node kafka-style log", nodeCount: 1) }
    public static var kafka5b: Challenge { kafka("5b", "Multi-node kafka-style log", nodeCount: 2) }
    public static var kafka5c: Challenge {
        kafka("5c", "Efficient kafka-style log", nodeCount: 2, goals: [.serverMsgsPerOp(below: 1.0)])
    }
}

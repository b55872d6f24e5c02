import EVCheckers
import EVCore
import EVSimCore
import Workloads

/// Challenges 4 and 5a–5c (protocol reference §11), with the exact options of their commands.
/// The msgs-per-op goals are ours (docs/gcounter.md, docs/kafka.md): the pages set no number for
/// 4 or 5c.
extension Challenge {
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

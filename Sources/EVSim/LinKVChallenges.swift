import EVCheckers
import EVCore
import EVSimCore
import Workloads

/// The Raft chapter's lin-kv tests (protocol reference §9.9) with the options of its commands.
/// The goals are ours: the chapter sets no number. Availability is `answered-fraction` (see
/// `LinKVModel.check`); a node forwarding every op to the lin-kv service scores 1 there and costs
/// exactly 2 server messages per op.
extension Challenge {
    /// `-w lin-kv` on `nodeCount` nodes with the chapter's `--concurrency 4n --rate 30 --time-limit 60`.
    static func linKV(_ name: String, _ title: String, nodeCount: Int, goals: [Goal],
                      configure: (inout TestSpec) -> Void = { _ in }) -> Challenge {
        Challenge(name, title, workload: .linKV, goals: goals, model: { LinKVModel(nodeCount: nodeCount) }) { spec in
            spec.nodeCount = nodeCount
            spec.concurrency = .perNode(4)
            spec.rate = 30
            spec.timeLimit = 60
            spec.nemesis = [.partition]
            // Maelstrom's lin-kv client timeout, max(10 × latency, 1 s), at the default latency 0.
            spec.clientTimeout = .ms(1000)
            configure(&spec)
        }
    }

    public static var linKV3: Challenge {
        linKV("lin-kv", "Linearizable key-value store under partitions", nodeCount: 3,
              goals: [.answeredFraction(atLeast: 0.7), .serverMsgsPerOp(atMost: 3), .latency("0.5", atMostMS: 25)])
    }

    /// Issue 21's goals: at most 2 messages per op at a latency p50 of 10 ms and p99 of 50 ms.
    public static var linKVNoFault: Challenge {
        var c = linKV("lin-kv-nofault", "Linearizable key-value store", nodeCount: 3,
                      goals: [.answeredFraction(atLeast: 0.99), .serverMsgsPerOp(atMost: 2),
                              .latency("0.5", atMostMS: 10), .latency("0.99", atMostMS: 50)]) { spec in
            spec.nemesis = []
        }
        c.raftWindowSweep = raftWindowSweep
        return c
    }

    /// The coalescing windows of docs/linkv.md's curve.
    static let raftWindowSweep: (windowsMS: [Double], seeds: Int) = ([0, 1, 2, 3, 5, 10, 20], 3)

    public static var linKVStress: Challenge {
        linKV("lin-kv-stress", "Linearizable key-value store, stress", nodeCount: 3, goals: []) { spec in
            spec.concurrency = .perNode(10)
            spec.rate = 100
            spec.nemesisInterval = 3
        }
    }

    public static var linKV5: Challenge {
        linKV("lin-kv-5", "Linearizable key-value store on five nodes", nodeCount: 5, goals: [.answeredFraction(atLeast: 0.7)])
    }
}

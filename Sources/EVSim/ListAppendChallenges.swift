import EVCheckers
import EVCore
import EVSimCore
import Workloads

/// The Datomic chapter's txn-list-append test (protocol reference §9.10) and our variants of it,
/// checked under Maelstrom's default strict-serializable model. The chapter sets no number; the
/// goals are ours: its own design (a root pointer in lin-kv, tree nodes in lww-kv) costs 8.51
/// server messages per op; ours must stay at 3 on the chapter's command (issue 17) with a latency
/// p50 of 10 ms (issue 21), every transaction answered when nothing fails. The variants are judged
/// on validity and availability: a partition of two nodes leaves no majority, and five nodes need
/// two copies besides the leader's (about 4 messages per transaction).
extension Challenge {
    /// `-w txn-list-append` with the chapter's `--node-count 2 --time-limit 10 --rate 100`.
    static func listAppend(_ name: String, _ title: String, goals: [Goal],
                           configure: (inout TestSpec) -> Void = { _ in }) -> Challenge {
        Challenge(name, title, workload: .txnListAppend, goals: goals, model: { ListAppendModel() }) { spec in
            spec.nodeCount = 2
            spec.timeLimit = 10
            spec.rate = 100
            configure(&spec)
        }
    }

    public static var txnListAppend: Challenge {
        var c = listAppend("txn-list-append", "Strict-serializable list-append transactions",
                           goals: [.serverMsgsPerOp(atMost: 3), .okFraction(atLeast: 0.99), .latency("0.5", atMostMS: 10)])
        c.raftWindowSweep = raftWindowSweep
        return c
    }

    /// Partitions cut off a node: no availability goal.
    public static var txnListAppendPartition: Challenge {
        listAppend("txn-list-append-partition", "Strict-serializable list-append transactions under partitions",
                   goals: []) { spec in
            spec.timeLimit = 30
            spec.nemesis = [.partition]
        }
    }

    public static var txnListAppend5: Challenge {
        listAppend("txn-list-append-5", "Strict-serializable list-append transactions on five nodes",
                   goals: [.okFraction(atLeast: 0.99)]) { spec in
            spec.nodeCount = 5
        }
    }

    /// Ten clients per node at the same rate: more concurrent transactions, more conflicts.
    public static var txnListAppend10n: Challenge {
        listAppend("txn-list-append-10n", "Strict-serializable list-append transactions, ten clients per node",
                   goals: [.serverMsgsPerOp(atMost: 3), .okFraction(atLeast: 0.99)]) { spec in
            spec.concurrency = .perNode(10)
        }
    }
}

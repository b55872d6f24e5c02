import EVCheckers
import EVCore
import EVSimCore
import Workloads

/// Challenges 6a–6c (protocol reference §11), with the exact options of their commands. The
/// consistency model of `--consistency-models` is the model's checker setting. 6c is typed with
/// an ASCII `--nemesis partition`: the page's en-dash version (§11.3) runs without partitions.
extension Challenge {
    static func txn(_ name: String, _ title: String, consistency: TxnChecker.ConsistencyModel,
                    configure: (inout TestSpec) -> Void) -> Challenge {
        Challenge(name, title, workload: .txn, extraArguments: "--consistency-models \(consistency.rawValue)",
                  model: { TxnModel(consistency: consistency) }) { spec in
            spec.timeLimit = 20
            spec.rate = 1000
            spec.concurrency = .perNode(2)
            configure(&spec)
        }
    }

    public static var txn6a: Challenge {
        txn("6a", "Single-node, totally-available transactions", consistency: .readUncommitted) { spec in
            spec.nodeCount = 1
            spec.availability = .total
        }
    }

    /// 6b's first command: two nodes, no faults, no availability requirement.
    public static var txn6bNoFault: Challenge {
        txn("6b-nofault", "Totally-available, read uncommitted transactions (no faults)", consistency: .readUncommitted) { spec in
            spec.nodeCount = 2
        }
    }

    public static var txn6b: Challenge {
        txn("6b", "Totally-available, read uncommitted transactions", consistency: .readUncommitted) { spec in
            spec.nodeCount = 2
            spec.availability = .total
            spec.nemesis = [.partition]
        }
    }

    public static var txn6c: Challenge {
        txn("6c", "Totally-available, read committed transactions", consistency: .readCommitted) { spec in
            spec.nodeCount = 2
            spec.availability = .total
            spec.nemesis = [.partition]
        }
    }
}

import EVCore
import EVSimCore
import Workloads

/// Records when each node committed its write transactions and when every other node merged
/// them, by watching the nodes after every event (`Cluster.addObserver`): the replication
/// visibility figures of the txn challenges. The k-th transaction a node merges from an origin
/// is that origin's k-th commit, since links deliver in order.
public final class TxnVisibility {
    /// origin → commit time of each of its write transactions, in order.
    public private(set) var commits: [String: [Micros]] = [:]
    /// origin → node → time each of the origin's transactions was merged there, in order.
    public private(set) var merges: [String: [String: [Micros]]] = [:]

    public init() {}

    /// Starts watching `cluster`'s txn nodes.
    public func watch(_ cluster: Cluster) {
        let ids = cluster.nodeIDs
        cluster.addObserver { [unowned self] process in
            guard let txn = process.router?.active[.txn] as? RWRegister else { return }
            let now = process.now
            let own = self.commits[process.id, default: []]
            if txn.commits > own.count {
                self.commits[process.id] = own + Array(repeating: now, count: txn.commits - own.count)
            }
            for (origin, count) in txn.merged where origin < ids.count && ids[origin] != process.id {
                let seen = self.merges[ids[origin], default: [:]][process.id, default: []]
                if count > seen.count {
                    self.merges[ids[origin], default: [:]][process.id] = seen + Array(repeating: now, count: count - seen.count)
                }
            }
        }
    }

    /// For every committed write transaction and every other node: the time from its commit (and
    /// client acknowledgement, which happen together) to its merge there. `missing` counts
    /// (transaction, node) pairs never merged.
    public func visibilityLags(nodeIDs: [String]) -> (lags: [Micros], missing: Int) {
        var lags: [Micros] = []
        var missing = 0
        for (origin, times) in commits {
            for other in nodeIDs where other != origin {
                let merged = merges[origin]?[other] ?? []
                for (i, t) in times.enumerated() {
                    if i < merged.count { lags.append(merged[i] - t) } else { missing += 1 }
                }
            }
        }
        return (lags.sorted(), missing)
    }
}

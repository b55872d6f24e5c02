import EVCore
import EVSimCore
import Workloads

/// Records every change of each node's counter value with its virtual time, by watching the
/// nodes after every event (`Cluster.addObserver`), so the checker can measure how long the nodes
/// take to agree.
public final class GCounterValueLog {
    /// node → (time, value) in time order.
    public private(set) var changes: [String: [(at: Micros, value: Int)]] = [:]

    public init() {}

    /// Starts watching `cluster`'s counters.
    public func watch(_ cluster: Cluster) {
        cluster.addObserver { [unowned self] process in
            guard let counter = process.router?.active[.gCounter] as? Counter else { return }
            let value = counter.value
            if (self.changes[process.id]?.last?.value ?? 0) != value {
                self.changes[process.id, default: []].append((process.now, value))
            }
        }
    }
}

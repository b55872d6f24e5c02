import EVCore

/// Records when each replicated transaction committed and when each peer applied it, so the
/// simulator can measure visibility latency. Not used in production (the config leaves it nil).
public final class TxnReplicationProbe: @unchecked Sendable {
    /// origin → commit time of seq i+1.
    public private(set) var commits: [String: [Micros]] = [:]
    /// origin → node → seq → time applied there.
    public private(set) var applies: [String: [String: [Int: Micros]]] = [:]

    public init() {}

    func committed(origin: String, seq: Int, at time: Micros) {
        var list = commits[origin, default: []]
        if list.count == seq - 1 { list.append(time) }
        commits[origin] = list
    }

    func applied(origin: String, seq: Int, on node: String, at time: Micros) {
        applies[origin, default: [:]][node, default: [:]][seq] = time
    }

    /// For every committed write transaction and every other node: the time from its commit (and
    /// client acknowledgement, which happen together) to its application there. `missing`
    /// counts (transaction, node) pairs never applied.
    public func visibilityLags(nodeIDs: [String]) -> (lags: [Micros], missing: Int) {
        var lags: [Micros] = []
        var missing = 0
        for (origin, times) in commits {
            for other in nodeIDs where other != origin {
                let applied = applies[origin]?[other] ?? [:]
                for (i, t) in times.enumerated() {
                    if let at = applied[i + 1] { lags.append(at - t) } else { missing += 1 }
                }
            }
        }
        return (lags.sorted(), missing)
    }
}

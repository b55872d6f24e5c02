import EVCheckers
import EVCore

/// How long operations took, from invocation to an answer (ok or a definite error), before the
/// final phase: what Maelstrom's latency plots show, as quantiles in ms for the result map
/// (`:workload :latencies`) and the goals of lin-kv and txn-list-append.
public enum OperationLatency {
    public static let quantiles = ["0.5", "0.99", "1"]

    public static func quantiles(_ history: [Operation]) -> JSONValue {
        let micros = history.compactMap { op -> Int? in
            guard !op.isFinal, let done = op.completedAt, let outcome = op.outcome, !outcome.isInfo else { return nil }
            return Int(done - op.invokedAt)
        }.sorted()
        return .object(quantiles.map { q in
            (q, .double(StandardCheckers.rounded(Double(quantile(micros, Double(q)!) ?? 0) / 1000, places: 1)))
        })
    }
}

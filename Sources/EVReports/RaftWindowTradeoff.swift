import EVCheckers
import EVCore
import EVSim
import Foundation

/// Raft's coalescing window against messages and latency (docs/linkv.md): a lin-kv or
/// txn-list-append challenge run once per window and seed with only `RaftCore.Config.window`
/// changed. Latency is `OperationLatency`'s; answered counts ok and definite errors.
public enum RaftWindowTradeoff {
    public struct Row: Sendable {
        public let windowMS: Double
        public let seeds: Int
        public let msgsPerOp: Double
        public let p50MS: Double
        public let p99MS: Double
        /// Answered operations over invoked ones, and ok operations per second of load.
        public let answered: Double
        public let okPerSecond: Double
        public let allValid: Bool
    }

    public static func sweep(_ challenge: Challenge, windowsMS: [Double], seeds: [UInt64],
                             adjust: ((inout TestSpec) -> Void)? = nil, progress: ((Row) -> Void)? = nil) -> [Row] {
        windowsMS.map { window in
            var msgs = 0.0, p50 = 0.0, p99 = 0.0, answered = 0.0, okRate = 0.0
            var valid = true
            for seed in seeds {
                let result = challenge.run(seed: seed) { spec in
                    adjust?(&spec)
                    spec.workloads.linKV.service.raft.window = Micros(window * 1000)
                    spec.workloads.listAppend.service.raft.window = Micros(window * 1000)
                }
                let ops = result.history.filter { !$0.isFinal }
                let workload = result.results["workload"]
                msgs += result.results["net"]?["servers"]?["msgs-per-op"]?.number ?? .nan
                p50 += workload?["latencies"]?["0.5"]?.number ?? .nan
                p99 += workload?["latencies"]?["0.99"]?.number ?? .nan
                answered += Double(ops.filter { $0.outcome.map { !$0.isInfo } ?? false }.count) / Double(max(ops.count, 1))
                okRate += Double(ops.filter { $0.outcome?.isOK == true }.count) / result.spec.timeLimit
                valid = valid && result.validity == .valid
            }
            let n = Double(max(seeds.count, 1))
            let row = Row(windowMS: window, seeds: seeds.count, msgsPerOp: msgs / n, p50MS: p50 / n, p99MS: p99 / n,
                          answered: answered / n, okPerSecond: okRate / n, allValid: valid)
            progress?(row)
            return row
        }
    }

    public static let tsvHeader = "window_ms\tseeds\tservers_msgs_per_op\tlatency_p50_ms\tlatency_p99_ms\tanswered\tok_per_s\tvalid"

    public static func tsv(_ rows: [Row]) -> String {
        var s = tsvHeader + "\n"
        for r in rows {
            s += "\(ResultTables.fixed(r.windowMS, 1))\t\(r.seeds)\t\(ResultTables.fixed(r.msgsPerOp, 3))\t"
                + "\(ResultTables.fixed(r.p50MS, 1))\t\(ResultTables.fixed(r.p99MS, 1))\t\(ResultTables.fixed(r.answered, 3))\t"
                + "\(ResultTables.fixed(r.okPerSecond, 1))\t\(r.allValid)\n"
        }
        return s
    }

    /// A markdown table of the rows (for docs/linkv.md).
    public static func markdown(_ rows: [Row]) -> String {
        var s = "| window (ms) | servers msgs-per-op | latency p50 (ms) | p99 (ms) | answered | ok ops/s |\n"
        s += "|---:|---:|---:|---:|---:|---:|\n"
        for r in rows {
            s += "| \(ResultTables.fixed(r.windowMS, 1)) | \(ResultTables.fixed(r.msgsPerOp, 2)) | \(ResultTables.fixed(r.p50MS, 1)) | "
                + "\(ResultTables.fixed(r.p99MS, 1)) | \(ResultTables.fixed(r.answered, 3)) | \(ResultTables.fixed(r.okPerSecond, 1)) |\n"
        }
        return s
    }

    /// Writes tradeoff.tsv and, with `plot`, tradeoff.gp and tradeoff.png (gnuplot) into `directory`;
    /// `budget` (the challenge's msgs-per-op goal) is drawn when it falls inside the curve's range.
    @discardableResult
    public static func write(_ rows: [Row], to directory: URL, title: String, budget: Double?, plot: Bool = true) throws -> Plots.Outcome {
        let msgs = rows.map(\.msgsPerOp)
        let budgetLines = budget.flatMap { b in (msgs.min() ?? 0) <= b && b <= (msgs.max() ?? 0) ? b : nil }.map { b in
            """
            set arrow from \(b), graph 0 to \(b), graph 1 nohead dt 2 lc rgb "#1f77b4"
            set label "budget \(ResultTables.fixed(b, 1)) msgs/op" at \(b), graph 0.95 right offset -1,0 tc rgb "#1f77b4"

            """
        } ?? ""
        return try Plots.writeTradeoff(tsv(rows), to: directory, title: title, plot: plot) { """
            set xlabel "servers msgs-per-op"
            set ylabel "operation latency (ms)"
            set yrange [0:*]
            \(budgetLines)plot "tradeoff.tsv" using 3:4 with linespoints lw 5 pt 7 ps 1.5 lc rgb "#9467bd" title "p50", \\
                 "tradeoff.tsv" using 3:5 with linespoints lw 2 pt 5 lc rgb "#2ca02c" title "p99", \\
                 "tradeoff.tsv" using 3:5:(sprintf("  %g ms", $1)) with labels left offset 0,1 notitle, \\
                 10 with lines dt 2 lc rgb "#d62728" title "p50 goal 10 ms"

            """
        }
    }
}

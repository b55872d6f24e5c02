import EVCheckers
import EVCore
import EVSim
import EVSimCore
import Foundation

/// A hub's flush interval T_h against messages and latency (docs/broadcast.md, docs/gset.md): a
/// broadcast or g-set challenge run once per interval and seed with only the hub flush interval
/// (`Broadcast.Config`, `GSet.Config`) changed; everything else keeps production defaults.
public enum HubFlushTradeoff {
    public static let defaultIntervalsMS: [Int64] = [50, 100, 150, 200, 250, 300, 400, 500]

    /// One interval, averaged over its seeds.
    public struct Row: Sendable {
        public let hubFlushMS: Int64
        public let seeds: Int
        public let msgsPerOp: Double
        public let medianMS: Double
        public let maxMS: Double
        /// The largest stable-latency maximum of any seed.
        public let worstMaxMS: Int
        public let lostCount: Int
        public let allValid: Bool
    }

    /// `adjust` applies other overrides (e.g. evsim's --latency) before the interval is set.
    public static func sweep(_ challenge: Challenge, intervalsMS: [Int64] = defaultIntervalsMS, seeds: [UInt64],
                             adjust: ((inout TestSpec) -> Void)? = nil, progress: ((Row) -> Void)? = nil) -> [Row] {
        intervalsMS.map { interval in
            var msgs = 0.0, median = 0.0, max = 0.0
            var worst = 0, lost = 0
            var valid = true
            for seed in seeds {
                let result = challenge.run(seed: seed) { spec in
                    adjust?(&spec)
                    spec.workloads.broadcast.hubFlushInterval = .ms(interval)
                    spec.workloads.gSet.hubFlushInterval = .ms(interval)
                }
                let workload = result.results["workload"]
                msgs += number(result.results["net"]?["servers"]?["msgs-per-op"])
                median += number(workload?["stable-latencies"]?["0.5"])
                let m = number(workload?["stable-latencies"]?["1"])
                max += m
                worst = Swift.max(worst, Int(m))
                lost += workload?["lost-count"]?.int ?? 0
                valid = valid && result.validity == .valid
            }
            let n = Double(Swift.max(seeds.count, 1))
            let row = Row(hubFlushMS: interval, seeds: seeds.count, msgsPerOp: msgs / n, medianMS: median / n,
                          maxMS: max / n, worstMaxMS: worst, lostCount: lost, allValid: valid)
            progress?(row)
            return row
        }
    }

    private static func number(_ v: JSONValue?) -> Double { v?.number ?? .nan }

    public static let tsvHeader = "hub_flush_ms\tseeds\tservers_msgs_per_op\tstable_p50_ms\tstable_max_ms\tworst_max_ms\tlost\tvalid"

    public static func tsv(_ rows: [Row]) -> String {
        var s = tsvHeader + "\n"
        for r in rows {
            s += "\(r.hubFlushMS)\t\(r.seeds)\t\(ResultTables.fixed(r.msgsPerOp, 3))\t\(ResultTables.fixed(r.medianMS, 1))\t"
                + "\(ResultTables.fixed(r.maxMS, 1))\t\(r.worstMaxMS)\t\(r.lostCount)\t\(r.allValid)\n"
        }
        return s
    }

    /// A markdown table of the rows (for docs/broadcast.md).
    public static func markdown(_ rows: [Row]) -> String {
        var s = "| T_h (ms) | servers msgs-per-op | stable latency median (ms) | max (ms) | worst max (ms) |\n"
        s += "|---:|---:|---:|---:|---:|\n"
        for r in rows {
            s += "| \(r.hubFlushMS) | \(ResultTables.fixed(r.msgsPerOp, 2)) | \(Int(r.medianMS.rounded())) | "
                + "\(Int(r.maxMS.rounded())) | \(r.worstMaxMS) |\n"
        }
        return s
    }

    /// Writes tradeoff.tsv and, with `plot`, tradeoff.gp and tradeoff.png (gnuplot) into `directory`.
    @discardableResult
    public static func write(_ rows: [Row], to directory: URL, title: String, plot: Bool = true) throws -> Plots.Outcome {
        try Plots.writeTradeoff(tsv(rows), to: directory, title: title, plot: plot) { """
            set xlabel "hub flush interval T_h (ms)"
            set ylabel "servers msgs-per-op"
            set y2label "stable latency (ms)"
            set ytics nomirror
            set y2tics
            set yrange [0:*]
            set y2range [0:*]
            plot "tradeoff.tsv" using 1:3 axis x1y1 with linespoints lw 2 pt 7 title "msgs-per-op", \\
                 "tradeoff.tsv" using 1:4 axis x1y2 with linespoints lw 2 pt 5 title "median latency", \\
                 "tradeoff.tsv" using 1:5 axis x1y2 with linespoints lw 2 pt 9 title "max latency", \\
                 2.0 axis x1y1 with lines dt 2 lc rgb "#1f77b4" title "budget 2.0 msgs/op", \\
                 450 axis x1y2 with lines dt 2 lc rgb "#d62728" title "max latency goal 450 ms"

            """
        }
    }
}

import EVCore
import EVCheckers
import EVSim
import EVSimCore
import Foundation

/// PNG plots of a results directory made with gnuplot, in the spirit of Maelstrom's latency and
/// rate plots: latency-raw.png (every op, by f and outcome, partitions shaded), rate.png,
/// latency-quantiles.png, net.png and, for broadcast, stable-latency.png (CDF of stable latencies).
/// The .tsv files must already be in the directory (ResultsWriter).
public enum Plots {
    public enum Outcome {
        case written([String])
        /// gnuplot is missing or failed; the data files are still there.
        case skipped(String)
    }

    /// The best PNG terminal this gnuplot has ("pngcairo", else "png"), or nil without gnuplot.
    public static let terminal: String? = {
        for candidate in ["pngcairo", "png"] where runGnuplot(arguments: ["-e", "set terminal \(candidate)"], in: nil) == 0 {
            return candidate
        }
        return nil
    }()

    public static func render(_ result: TestResult, in directory: URL, title: String) -> Outcome {
        guard let terminal else { return .skipped("gnuplot with a png terminal was not found: wrote the .tsv data only") }
        let script = self.script(result, terminal: terminal, title: title)
        let scriptURL = directory.appendingPathComponent("plots.gp")
        do {
            try script.text.write(to: scriptURL, atomically: true, encoding: .utf8)
        } catch {
            return .skipped("could not write plots.gp: \(error)")
        }
        let status = runGnuplot(arguments: ["plots.gp"], in: directory)
        guard status == 0 else { return .skipped("gnuplot exited with status \(status) (see plots.gp)") }
        return .written(script.outputs)
    }

    // MARK: script

    static let okColors = ["#1f77b4", "#2ca02c", "#9467bd", "#17becf", "#8c564b", "#bcbd22"]
    static let pointTypes = [7, 5, 9, 13, 11, 15]

    static func script(_ result: TestResult, terminal: String, title: String) -> (text: String, outputs: [String]) {
        var s = ""
        var outputs: [String] = []
        let font = terminal == "pngcairo" ? " font \"DejaVu Sans,10\"" : ""
        s += "set terminal \(terminal) size 1200,600\(font)\n"
        s += "set datafile separator \"\\t\"\n"
        s += "set grid\nset key outside right top\nset xlabel \"time (s)\"\n"
        // A little room on the right so the final reads at the very end stay visible.
        s += "set xrange [0:\(ResultTables.fixed(Double(result.phases.end) / 1e6 * 1.03 + 0.1, 3))]\n"
        s += "set yrange [0:*]\n"
        // Shade fault windows: partitions (red), kills until the next start (grey), pauses until
        // the next resume (yellow).
        var objectID = 1
        // Opaque partitions first, so the see-through process faults stay visible on top.
        let windows = Pictures.faultSpans(result)
        for window in windows.filter({ $0.kind == .startPartition }) + windows.filter({ $0.kind != .startPartition }) {
            s += rect(objectID, from: window.from, to: window.to, kind: window.kind)
            objectID += 1
        }
        if let finalStart = result.phases.finalStart {
            s += "set arrow from \(ResultTables.fixed(Double(finalStart) / 1e6, 3)), graph 0 to "
                + "\(ResultTables.fixed(Double(finalStart) / 1e6, 3)), graph 1 nohead dt 2 lc rgb \"#555555\"\n"
        }
        let escapedTitle = title.replacingOccurrences(of: "\"", with: "'")

        let fs = Set(result.history.map(\.f)).sorted()
        let series = ResultTables.series(result.history)
        if !series.isEmpty {
            s += "set output \"latency-raw.png\"\n"
            s += "set title \"\(escapedTitle): latency of every operation\"\nset ylabel \"latency (ms)\"\n"
            let plots = series.map { entry -> String in
                let fi = fs.firstIndex(of: entry.f) ?? 0
                let color = entry.outcome == "ok" ? okColors[fi % okColors.count] : (entry.outcome == "fail" ? "#ff7f0e" : "#d62728")
                return "\"latency-raw.tsv\" skip 1 using 1:(strcol(3) eq \"\(entry.f)\" && strcol(4) eq \"\(entry.outcome)\" ? $2 : 1/0) "
                    + "with points pt \(pointTypes[fi % pointTypes.count]) ps 0.5 lc rgb \"\(color)\" title \"\(entry.f) \(entry.outcome)\""
            }
            s += "plot " + plots.joined(separator: ", \\\n     ") + "\n"
            outputs.append("latency-raw.png")

            s += "set output \"rate.png\"\n"
            s += "set title \"\(escapedTitle): throughput by completion time\"\nset ylabel \"operations / s\"\n"
            s += "plot for [i=2:\(series.count + 1)] \"rate.tsv\" using 1:i with lines lw 1.5 title columnheader(i)\n"
            outputs.append("rate.png")

            s += "set output \"latency-quantiles.png\"\n"
            s += "set title \"\(escapedTitle): latency quantiles per window\"\nset ylabel \"latency (ms)\"\n"
            s += "plot for [i=2:\(fs.count * 4 + 1)] \"latency-quantiles.tsv\" using 1:(column(i)) with linespoints pt 7 ps 0.4 title columnheader(i)\n"
            outputs.append("latency-quantiles.png")
        }

        s += "set output \"net.png\"\n"
        s += "set title \"\(escapedTitle): messages sent per second\"\nset ylabel \"messages / s\"\n"
        s += "plot \"net.tsv\" using 1:2 with steps lw 1.5 title \"servers\", \"net.tsv\" using 1:3 with steps lw 1.5 title \"clients\"\n"
        outputs.append("net.png")

        if result.workload == .broadcast, result.results["workload"]?["stable-count"]?.int ?? 0 > 0 {
            // Show the latency goals as dotted lines, inside the x range.
            let latencyGoals = result.goals.filter { $0.goal.path.first == "workload" && $0.goal.path.dropFirst().first == "stable-latencies" }
            let maxLatency = Double(result.results["workload"]?["stable-latencies"]?["1"]?.int ?? 0)
            let xmax = max(maxLatency, latencyGoals.map(\.goal.limit).max() ?? 0) * 1.05 + 1
            s += "unset object\nunset arrow\nset xrange [0:\(ResultTables.fixed(xmax, 1))]\nset yrange [0:1]\n"
            s += "set output \"stable-latency.png\"\n"
            s += "set title \"\(escapedTitle): stable latency of broadcast values (CDF)\"\n"
            s += "set xlabel \"stable latency (ms)\"\nset ylabel \"fraction of stable values\"\n"
            for (i, goal) in latencyGoals.enumerated() {
                s += "set arrow from \(goal.goal.limit), graph 0 to \(goal.goal.limit), graph 1 nohead dt 3 lc rgb \"#d62728\"\n"
                s += "set label \(i + 1) \"\(goal.goal.description)\" at \(goal.goal.limit), graph \(0.12 - 0.06 * Double(i)) right offset -0.5,0 tc rgb \"#d62728\"\n"
            }
            s += "plot \"stable-latencies.tsv\" skip 1 using 3:4 with steps lw 2 lc rgb \"#1f77b4\" title \"stable values\"\n"
            outputs.append("stable-latency.png")
        }
        return (s, outputs)
    }

    static func rect(_ id: Int, from: Micros, to: Micros, kind: NemesisEvent.Action = .startPartition) -> String {
        // Process faults are drawn see-through, so they show where they overlap a partition.
        let fill: String
        switch kind {
        case .kill: fill = "fc rgb \"#999999\" fs transparent solid 0.35"
        case .pause: fill = "fc rgb \"#f1c232\" fs transparent solid 0.35"
        default: fill = "fc rgb \"#f4cccc\" fs solid 0.6"
        }
        return "set object \(id) rect from \(ResultTables.fixed(Double(from) / 1e6, 3)), graph 0 to "
            + "\(ResultTables.fixed(Double(to) / 1e6, 3)), graph 1 behind \(fill) noborder\n"
    }

    // MARK: process

    /// Runs gnuplot (found on PATH), stdout/stderr discarded; the exit status, or -1 if it could
    /// not be started.
    @discardableResult
    /// Writes a sweep's tradeoff.tsv into `directory` and, with `plot`, tradeoff.gp and tradeoff.png:
    /// the script is the png terminal, title and grid, then what `body` adds (axes and plot lines).
    static func writeTradeoff(_ tsv: String, to directory: URL, title: String, plot: Bool, body: () -> String) throws -> Outcome {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try tsv.write(to: directory.appendingPathComponent("tradeoff.tsv"), atomically: true, encoding: .utf8)
        guard plot else { return .skipped("plots not requested") }
        guard let terminal else { return .skipped("gnuplot with a png terminal was not found: wrote tradeoff.tsv only") }
        let font = terminal == "pngcairo" ? " font \"DejaVu Sans,10\"" : ""
        let script = """
            set terminal \(terminal) size 1000,560\(font)
            set output "tradeoff.png"
            set datafile separator "\\t"
            set title "\(title)"
            set grid
            set key outside right top

            """ + body()
        try script.write(to: directory.appendingPathComponent("tradeoff.gp"), atomically: true, encoding: .utf8)
        let status = runGnuplot(arguments: ["tradeoff.gp"], in: directory)
        return status == 0 ? .written(["tradeoff.png"]) : .skipped("gnuplot exited with status \(status) (see tradeoff.gp)")
    }

    static func runGnuplot(arguments: [String], in directory: URL?) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["gnuplot"] + arguments
        if let directory { process.currentDirectoryURL = directory }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            return -1
        }
        process.waitUntilExit()
        return process.terminationStatus
    }
}

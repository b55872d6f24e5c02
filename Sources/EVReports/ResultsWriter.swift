import EVCore
import EVCheckers
import EVSim
import EVSimCore
import Foundation

/// Writes a run's results directory, the local counterpart of Maelstrom's store/<test>/<time>/:
/// results.json (the result map), summary.txt (EDN-like map, verdict, goals, nemesis log),
/// run.json (what to replay), and tab-separated data behind the plots: latency-raw, latency-
/// quantiles, rate, timeline, net, nemesis and, for broadcast, stable-latencies; and two pictures,
/// messages.svg (`MessageDiagram`) and timeline.html (`Timeline`).
///
/// Every file is a function of the run alone (no wall time, dates or paths), so a seed rewrites
/// the same bytes on any host: `evsim all --out results` leaves a clean checkout clean.
public struct ResultsWriter {
    public let directory: URL
    /// What the pictures draw (the whole run up to a cap, or a window).
    public var pictures = PictureOptions()

    public init(directory: URL) { self.directory = directory }

    /// The command that replays a run. No --out: where results go does not change the run, and a
    /// file must not name a path of this host.
    public static func replayCommand(challenge: String, seed: UInt64, overrides: String = "") -> String {
        "evsim \(challenge) --seed \(seed)" + overrides
    }

    /// Writes every file; returns the names written.
    @discardableResult
    public func write(_ result: TestResult, challenge: Challenge?, replayCommand: String) throws -> [String] {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var written: [String] = []
        func put(_ name: String, _ text: String) throws {
            try text.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
            written.append(name)
        }
        try put("results.json", ResultFormat.prettyJSON(result.results) + "\n")
        try put("summary.txt", Summary.text(result, challenge: challenge, replayCommand: replayCommand,
                                            wallSeconds: nil, elide: nil))
        try put("run.json", ResultFormat.prettyJSON(runInfo(result, challenge: challenge, replayCommand: replayCommand)) + "\n")
        try put("latency-raw.tsv", ResultTables.latencyRaw(result.history))
        try put("latency-quantiles.tsv", ResultTables.latencyQuantiles(result.history, bucket: ResultTables.bucket(for: result)))
        try put("rate.tsv", ResultTables.rate(result.history))
        try put("timeline.tsv", ResultTables.timeline(result.history))
        try put("net.tsv", ResultTables.net(result.netPerSecond))
        try put("nemesis.tsv", ResultTables.nemesis(result.nemesisEvents))
        if result.workload == .broadcast {
            try put("stable-latencies.tsv", ResultTables.stableLatencies(SetFullChecker.analyze(result.history).elements))
        }
        let title = "evsim \(challenge?.name ?? result.workload.rawValue) seed \(result.spec.seed)"
        try put("messages.svg", MessageDiagram.svg(result, options: pictures, title: title, replayCommand: replayCommand))
        try put("timeline.html", Timeline.html(result, options: pictures, title: title, replayCommand: replayCommand))
        return written
    }

    private func runInfo(_ result: TestResult, challenge: Challenge?, replayCommand: String) -> JSONValue {
        var members: [(String, JSONValue)] = []
        if let challenge {
            members.append(("challenge", .string(challenge.name)))
            members.append(("maelstrom-command", .string(challenge.maelstromCommand(for: result.spec))))
        } else {
            members.append(("maelstrom-command", .string("maelstrom test " + result.spec.maelstromArguments(workload: result.workload))))
        }
        members.append(("seed", .string(String(result.spec.seed))))
        members.append(("replay", .string(replayCommand)))
        members.append(("trace-hash", .string(result.traceHash.hex)))
        members.append(("messages", .int(result.traceHash.messages)))
        members.append(("valid?", result.validity.json))
        members.append(("passed", .bool(result.passed)))
        members.append(("goals", .array(result.goals.map { g in
            ["goal": .string(g.goal.description), "value": g.value.map { .double($0) } ?? .null, "met": .bool(g.met)]
        })))
        members.append(("invariants", .array(result.invariants.map { i in
            ["invariant": .string(i.name), "holds": .bool(i.holds), "detail": .string(i.detail)]
        })))
        members.append(("simulated-seconds", .double(Double(result.phases.end) / 1e6)))
        return .object(members)
    }
}

/// The human summary: Maelstrom-style result map and verdict, plus what Maelstrom does not print
/// (goals, nemesis log, replay command).
public enum Summary {
    public static func text(_ result: TestResult, challenge: Challenge?, replayCommand: String,
                            wallSeconds: Double?, elide: Int?) -> String {
        var out = ""
        if let challenge {
            out += "Challenge \(challenge.name): \(challenge.title)\n"
            out += "  \(challenge.maelstromCommand(for: result.spec))\n"
        } else {
            out += "maelstrom test \(result.spec.maelstromArguments(workload: result.workload))\n"
        }
        var timing = "  seed \(result.spec.seed), trace \(result.traceHash.hex), \(result.traceHash.messages) messages, "
            + String(format: "%.1f s simulated", Double(result.phases.end) / 1e6)
        if let wallSeconds { timing += String(format: " in %.2f s", wallSeconds) }
        out += timing + "\n"
        if !result.nemesisEvents.isEmpty {
            out += "  nemesis:\n"
            for e in result.nemesisEvents {
                out += String(format: "    %7.2f s  ", Double(e.time) / 1e6) + e.summary + "\n"
            }
        }
        out += "\n" + ResultFormat.edn(result.results, elide: elide) + "\n\n"
        out += verdict(result) + "\n"
        for g in result.goals {
            let value = g.value.map { compactNumber(($0 * 100).rounded() / 100) } ?? "missing"
            out += "  goal \(g.met ? "met   " : "FAILED") \(g.goal.description): \(value)\n"
        }
        if let settled = result.phases.settled {
            out += String(format: "  invariants checked at %.1f s, after healing and a %.0f s wait\n",
                          Double(settled) / 1e6, Double(settled - result.phases.end) / 1e6)
        }
        for i in result.invariants {
            out += "  invariant \(i.holds ? "holds " : "BROKEN") \(i.name): \(i.detail)\n"
        }
        if !result.passed {
            out += "Replay: \(replayCommand)\n"
            if !result.logs.isEmpty {
                out += "Node log (first lines at warning and above):\n"
                for line in result.logs.prefix(10) { out += "  \(line)\n" }
            }
        }
        return out
    }

    /// Maelstrom's closing line, and which goals failed.
    public static func verdict(_ result: TestResult) -> String {
        var line: String
        switch result.validity {
        case .valid: line = "Everything looks good! ヽ(‘ー`)ノ"
        case .invalid: line = "Analysis invalid! (ﾉಥ益ಥ）ﾉ ┻━┻"
        case .unknown: line = "Errors occurred during analysis, but no anomalies found. ಠ~ಠ"
        }
        let failed = result.failedGoals.map(\.goal.description)
        if !failed.isEmpty { line += "\nGoals not met: " + failed.joined(separator: "; ") }
        let broken = result.brokenInvariants.map { "\($0.name) (\($0.detail))" }
        if !broken.isEmpty { line += "\nInvariants broken: " + broken.joined(separator: "; ") }
        return line
    }
}

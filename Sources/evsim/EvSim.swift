import ArgumentParser
import EVCore
import EVReports
import EVSim
import Foundation
import Workloads

@main
struct EvSim: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evsim",
        abstract: "Runs Gossip Glomers challenges against evnode's workloads in the deterministic simulator.",
        discussion: """
        Each challenge is the Maelstrom test its page prescribes (node count, rate, time limit, latency,
        nemesis, availability), simulated on a virtual clock: Maelstrom's network and clients, the same
        checkers, the same result map. Extra goals (3d/3e message budgets and latencies) are checked too.
        Examples:
          evsim list
          evsim 1 2 3b
          evsim 3d --seeds 5
          evsim all --quiet
        Results go to OUT/<challenge>/ (results.json, summary.txt, .tsv data, .png plots).
        The exit status is non-zero if any run was invalid or missed a goal.
        """)

    @Argument(help: "Challenges to run (see `evsim list`), `all`, or `list`.")
    var challenges: [String]

    @Option(help: "Seed of the (first) run; the same seed replays a run exactly.")
    var seed: UInt64 = 1

    @Option(help: "Run this many seeds: seed, seed+1, …; the worst run's results are written.")
    var seeds: Int = 1

    @Option(help: "Directory for results/<challenge>/.")
    var out: String = "results"

    @Flag(help: "One line per run instead of the full result map.")
    var quiet = false

    @Flag(help: "Do not call gnuplot.")
    var noPlots = false

    @Option(help: "Override --time-limit (seconds) of the challenge's command.")
    var timeLimit: Double?

    @Option(help: "Override --rate (operations per second).")
    var rate: Double?

    @Option(help: "Override --latency (ms between nodes).")
    var latency: Int64?

    @Option(help: "Override --nemesis: partition or none.")
    var nemesis: String?

    @Option(help: "Override --nemesis-interval (seconds).")
    var nemesisInterval: Double?

    @Option(help: "Override --topology for broadcast: grid, line, total, tree, tree2, tree3, tree4.")
    var topology: String?

    @Option(help: "Broadcast challenges only: instead of a normal run, sweep the hub flush interval over these ms values (e.g. 50,100,200) with --seeds seeds each; writes OUT/<challenge>/tradeoff.tsv and tradeoff.png.")
    var hubFlushSweep: String?

    /// The overrides as they must be repeated in a replay command.
    private var overrideArguments: String {
        var parts: [String] = []
        if let timeLimit { parts.append("--time-limit \(timeLimit)") }
        if let rate { parts.append("--rate \(rate)") }
        if let latency { parts.append("--latency \(latency)") }
        if let nemesis { parts.append("--nemesis \(nemesis)") }
        if let nemesisInterval { parts.append("--nemesis-interval \(nemesisInterval)") }
        if let topology { parts.append("--topology \(topology)") }
        return parts.map { " " + $0 }.joined()
    }

    /// Applies the overrides to a challenge's spec.
    private func adjust(_ spec: inout TestSpec, workload: WorkloadKind) {
        if let timeLimit { spec.timeLimit = timeLimit }
        if let rate { spec.rate = rate }
        if let latency { spec.latencyMS = latency }
        if let nemesis { spec.nemesis = nemesis == "none" ? [] : [.partition] }
        if let nemesisInterval { spec.nemesisInterval = nemesisInterval }
        if let name = topology, let t = Topology(name: name), workload == .broadcast {
            spec.topology = t
            spec.makeModel = { BroadcastModel(topology: t) }
        }
    }

    func validate() throws {
        guard seeds >= 1 else { throw ValidationError("--seeds must be at least 1") }
        if let nemesis, nemesis != "none", NemesisKind(rawValue: nemesis) == nil {
            throw ValidationError("--nemesis must be partition or none")
        }
        if let topology, Topology(name: topology) == nil {
            throw ValidationError("unknown topology '\(topology)'")
        }
        for name in challenges where name != "all" && name != "list" && Challenges.named(name) == nil {
            throw ValidationError("unknown challenge '\(name)'; known: \(Challenges.all.map(\.name).joined(separator: " "))")
        }
    }

    func run() throws {
        if challenges == ["list"] { return list() }
        var selected: [Challenge] = []
        for name in challenges where name != "list" {
            if name == "all" { selected += Challenges.all } else if let c = Challenges.named(name) { selected.append(c) }
        }
        if let hubFlushSweep {
            return try sweepHubFlush(selected, intervals: hubFlushSweep)
        }
        var failures: [String] = []
        for challenge in selected {
            if !runChallenge(challenge) { failures.append(challenge.name) }
        }
        if selected.count > 1 {
            print(failures.isEmpty ? "All \(selected.count) challenges passed."
                  : "Failed: \(failures.joined(separator: " ")) (\(selected.count - failures.count) of \(selected.count) passed)")
        }
        if !failures.isEmpty { throw ExitCode(1) }
    }

    /// The broadcast trade-off table (docs/broadcast.md): one line per interval, averaged over seeds.
    private func sweepHubFlush(_ selected: [Challenge], intervals: String) throws {
        let values = intervals.split(separator: ",").compactMap { Int64($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ $0 > 0 }) else { throw ValidationError("--hub-flush-sweep needs positive ms values, e.g. 50,100,200") }
        let seedList = (0..<seeds).map { seed &+ UInt64($0) }
        for challenge in selected where challenge.workload == .broadcast {
            print("\(challenge.name): hub flush interval sweep, seeds \(seedList.map(String.init).joined(separator: ","))")
            print(BroadcastTradeoff.tsvHeader)
            let rows = BroadcastTradeoff.sweep(challenge, intervalsMS: values, seeds: seedList,
                                               adjust: { adjust(&$0, workload: challenge.workload) }) { row in
                print(BroadcastTradeoff.tsv([row]).split(separator: "\n").last.map(String.init) ?? "")
            }
            print(BroadcastTradeoff.markdown(rows))
            let directory = URL(fileURLWithPath: out).appendingPathComponent(challenge.name)
            let outcome = try BroadcastTradeoff.write(rows, to: directory, title: "evsim \(challenge.name): hub flush interval trade-off",
                                                      plot: !noPlots)
            if case .skipped(let why) = outcome, !noPlots { print("note: \(why)") }
            print("Results in \(directory.path)/tradeoff.tsv")
        }
    }

    private func list() {
        for c in Challenges.all {
            print("\(c.name.padding(toLength: 13, withPad: " ", startingAt: 0)) \(c.title)")
            print("              \(c.maelstromCommand)")
            if !c.goals.isEmpty { print("              goals: \(c.goals.map(\.description).joined(separator: "; "))") }
        }
    }

    private func replayCommand(_ challenge: Challenge, seed: UInt64) -> String {
        "evsim \(challenge.name) --seed \(seed)" + overrideArguments + (out == "results" ? "" : " --out \(out)")
    }

    /// Runs every requested seed of one challenge; prints and writes the worst. True if all passed.
    private func runChallenge(_ challenge: Challenge) -> Bool {
        var runs: [(result: TestResult, wall: Double)] = []
        for k in 0..<seeds {
            let runSeed = seed &+ UInt64(k)
            let started = ContinuousClock.now
            let result = challenge.run(seed: runSeed) { adjust(&$0, workload: challenge.workload) }
            let elapsed = ContinuousClock.now - started
            let wall = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            runs.append((result, wall))
            if quiet || seeds > 1 { print(oneLine(challenge, result, wall: wall)) }
            if !result.passed, quiet || seeds > 1 { print("  replay: \(replayCommand(challenge, seed: runSeed))") }
        }
        let worst = runs.max { badness($0.result).lexicographicallyPrecedes(badness($1.result)) }!
        if !quiet {
            if seeds > 1 { print("Worst of \(seeds) seeds:") }
            print(Summary.text(worst.result, challenge: challenge,
                               replayCommand: replayCommand(challenge, seed: worst.result.spec.seed),
                               wallSeconds: worst.wall, elide: 12))
        }
        write(challenge, worst.result, wall: worst.wall, allRuns: runs)
        return runs.allSatisfy { $0.result.passed }
    }

    /// Orders runs from best to worst, compared in this order: invalid, unknown, a missed goal,
    /// the goal closest to its limit, lower availability, slower stable latency, more messages.
    private func badness(_ r: TestResult) -> [Double] {
        let goalRatio = r.goals.map { g in g.value.map { $0 / g.goal.below } ?? 10 }.max() ?? 0
        func number(_ v: JSONValue?) -> Double {
            switch v {
            case .int(let i)?: return Double(i)
            case .double(let d)?: return d
            default: return 0
            }
        }
        return [r.validity == .invalid ? 1 : 0, r.validity == .unknown ? 1 : 0, r.passed ? 0 : 1, goalRatio,
                1 - number(r.results["availability"]?["ok-fraction"]),
                number(r.results["workload"]?["stable-latencies"]?["1"]),
                number(r.results["net"]?["servers"]?["msgs-per-op"])]
    }

    private func oneLine(_ c: Challenge, _ r: TestResult, wall: Double) -> String {
        var parts = ["\(c.name) seed \(r.spec.seed):", r.passed ? "PASS" : "FAIL", "valid?=\(r.validity.json)"]
        let net = r.results["net"]
        if let all = net?["all"]?["msgs-per-op"] { parts.append("all-msgs-per-op=\(all)") }
        if let servers = net?["servers"]?["msgs-per-op"] { parts.append("servers-msgs-per-op=\(servers)") }
        if let ok = r.results["availability"]?["ok-fraction"] { parts.append("ok-fraction=\(ok)") }
        if let lat = r.results["workload"]?["stable-latencies"], let p50 = lat["0.5"], let max = lat["1"] {
            parts.append("stable-latency p50=\(p50)ms max=\(max)ms")
        }
        if let lost = r.results["workload"]?["lost-count"] { parts.append("lost=\(lost)") }
        for g in r.goals where !g.met { parts.append("goal-missed[\(g.goal.description)]") }
        parts.append("ops=\(r.history.count)")
        parts.append(String(format: "(%.2fs)", wall))
        return parts.joined(separator: " ")
    }

    private func write(_ challenge: Challenge, _ result: TestResult, wall: Double, allRuns: [(result: TestResult, wall: Double)]) {
        let directory = URL(fileURLWithPath: out).appendingPathComponent(challenge.name)
        do {
            try ResultsWriter(directory: directory).write(result, challenge: challenge,
                                                          replayCommand: replayCommand(challenge, seed: result.spec.seed),
                                                          wallSeconds: wall)
            if allRuns.count > 1 {
                var table = "seed\tpassed\tvalid\ttrace\tservers_msgs_per_op\tstable_p50_ms\tstable_max_ms\tops\twall_s\n"
                for run in allRuns {
                    let r = run.result
                    let lat = r.results["workload"]?["stable-latencies"]
                    table += "\(r.spec.seed)\t\(r.passed)\t\(r.validity.json)\t\(r.traceHash.hex)\t"
                        + "\(r.results["net"]?["servers"]?["msgs-per-op"]?.text ?? "")\t"
                        + "\(lat?["0.5"]?.text ?? "")\t\(lat?["1"]?.text ?? "")\t\(r.history.count)\t"
                        + String(format: "%.2f", run.wall) + "\n"
                }
                try table.write(to: directory.appendingPathComponent("seeds.tsv"), atomically: true, encoding: .utf8)
            }
        } catch {
            print("could not write \(directory.path): \(error)")
            return
        }
        if !noPlots {
            switch Plots.render(result, in: directory, title: "evsim \(challenge.name)") {
            case .written: break
            case .skipped(let why): print("note: \(why)")
            }
        }
        if !quiet { print("Results in \(directory.path)/") }
    }
}

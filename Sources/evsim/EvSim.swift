import ArgumentParser
import EVCore
import EVReports
import EVCheckers
import EVSim
import EVSimCore
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
          evsim list --maelstrom-commands --bin /path/to/evnode
          evsim 1 2 3b
          evsim 3d --seeds 5
          evsim all --quiet
          evsim faults                  (kill/pause figures: 20 seeds per challenge × mode)
          evsim faults 3b 6c --seeds 5  (only these challenges)
        Results go to OUT/<challenge>/ (results.json, summary.txt, .tsv data, .png plots, messages.svg and
        timeline.html: the first 1000 messages and operations, or --diagram-window in full); `all` also runs
        the challenges' declared sweeps (3d's hub flush trade-off) and so rewrites results/ exactly.
        The exit status is non-zero if any run was invalid or missed a goal.
        """)

    @Argument(help: "Challenges to run (see `evsim list`), `all`, `list`, or `faults` (optionally followed by challenges).")
    var challenges: [String]

    @Option(help: "Seed of the (first) run; the same seed replays a run exactly.")
    var seed: UInt64 = 1

    @Option(name: .customLong("seeds"), help: "Run this many seeds: seed, seed+1, …; the worst run's results are written (`faults`: 20 by default).")
    var seedOption: Int?

    private var seeds: Int { seedOption ?? 1 }

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

    @Option(help: "Override --nemesis: a comma-separated combination of partition, kill and pause, or none.")
    var nemesis: String?

    @Option(help: "Override --nemesis-interval (seconds).")
    var nemesisInterval: Double?

    @Option(help: "Override --topology for broadcast: grid, line, total, tree, tree2, tree3, tree4.")
    var topology: String?

    @Flag(help: "Run the nodes in durable mode (evnode --durable): every acknowledged write is also stored in lin-kv.")
    var durable = false

    @Flag(help: "Start every node at one instant, with no post-init stall and kv services answering in zero time (start skew off, docs/evsim.md).")
    var noStartSkew = false

    @Option(help: "Draw messages.svg and timeline.html for this stretch of virtual time, FROM_S:TO_S (e.g. 3.5:7), in full instead of the run's start up to the cap. Does not change the run.")
    var diagramWindow: String?

    @Flag(help: "With `list`: print only the `maelstrom test` command lines (what scripts/maelstrom-all.sh runs).")
    var maelstromCommands = false

    @Flag(help: "With `list`: print README's table of Maelstrom commands.")
    var readmeTable = false

    @Option(help: "lin-kv and txn-list-append: the Raft coalescing window in ms (what becomes ready within it leaves as one message per peer; default 0).")
    var raftWindow: Double?

    @Option(help: "With `list --maelstrom-commands`: the node binary to put after --bin.")
    var bin: String = "BIN"

    @Option(help: "Broadcast and g-set challenges only: instead of a normal run, sweep the hub flush interval over these ms values (e.g. 50,100,200) with --seeds seeds each; writes OUT/<challenge>/tradeoff.tsv and tradeoff.png.")
    var hubFlushSweep: String?

    @Option(help: "lin-kv and txn-list-append challenges only: instead of a normal run, sweep the Raft coalescing window over these ms values (e.g. 0,2,5) with --seeds seeds each; writes OUT/<challenge>/tradeoff.tsv and tradeoff.png.")
    var raftWindowSweep: String?

    private var hasOverrides: Bool {
        timeLimit != nil || rate != nil || latency != nil || nemesis != nil || nemesisInterval != nil || topology != nil
            || durable || noStartSkew || raftWindow != nil
    }

    /// The overrides as they must be repeated in a replay command.
    private var overrideArguments: String {
        var parts: [String] = []
        if let timeLimit { parts.append("--time-limit \(timeLimit)") }
        if let rate { parts.append("--rate \(rate)") }
        if let latency { parts.append("--latency \(latency)") }
        if let nemesis { parts.append("--nemesis \(nemesis)") }
        if let nemesisInterval { parts.append("--nemesis-interval \(nemesisInterval)") }
        if let topology { parts.append("--topology \(topology)") }
        if durable { parts.append("--durable") }
        if noStartSkew { parts.append("--no-start-skew") }
        if let raftWindow { parts.append("--raft-window \(raftWindow)") }
        return parts.map { " " + $0 }.joined()
    }

    /// Applies the overrides to a challenge's spec.
    private func adjust(_ spec: inout TestSpec, workload: WorkloadKind) {
        if let timeLimit { spec.timeLimit = timeLimit }
        if let rate { spec.rate = rate }
        if let latency { spec.latencyMS = latency }
        if let nemesis, let kinds = NemesisKind.parse(nemesis) { spec.nemesis = kinds }
        if let nemesisInterval { spec.nemesisInterval = nemesisInterval }
        if durable { spec.workloads.durability.enabled = true }
        if noStartSkew { spec.startSkew = .off }
        if let raftWindow {
            spec.workloads.linKV.service.raft.window = Micros(raftWindow * 1000)
            spec.workloads.listAppend.service.raft.window = Micros(raftWindow * 1000)
        }
        if let name = topology, let t = Topology(name: name), workload == .broadcast {
            spec.topology = t
            spec.makeModel = { BroadcastModel(topology: t) }
        }
    }

    func validate() throws {
        guard seedOption ?? 1 >= 1 else { throw ValidationError("--seeds must be at least 1") }
        if let nemesis, NemesisKind.parse(nemesis) == nil {
            throw ValidationError("--nemesis must be a comma-separated combination of partition, kill and pause, or none")
        }
        if let topology, Topology(name: topology) == nil {
            throw ValidationError("unknown topology '\(topology)'")
        }
        if let diagramWindow, PictureOptions.parseWindow(diagramWindow) == nil {
            throw ValidationError("--diagram-window must be FROM_S:TO_S with 0 <= FROM < TO, e.g. 3.5:7")
        }
        for name in challenges where name != "all" && name != "list" && name != "faults" && Challenges.named(name) == nil {
            throw ValidationError("unknown challenge '\(name)'; known: \(Challenges.all.map(\.name).joined(separator: " "))")
        }
    }

    func run() throws {
        if challenges == ["list"] { return list() }
        if challenges.first == "faults" { return try runFaultFigures() }
        if maelstromCommands || readmeTable { throw ValidationError("--maelstrom-commands and --readme-table go with `list`") }
        var selected: [Challenge] = []
        for name in challenges where name != "list" {
            if name == "all" { selected += Challenges.all } else if let c = Challenges.named(name) { selected.append(c) }
        }
        if let hubFlushSweep {
            return try sweepHubFlush(selected, intervals: hubFlushSweep)
        }
        if let raftWindowSweep {
            let values = raftWindowSweep.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard !values.isEmpty, values.allSatisfy({ $0 >= 0 }) else { throw ValidationError("--raft-window-sweep needs ms values ≥ 0, e.g. 0,2,5") }
            for challenge in selected where challenge.workload == .linKV || challenge.workload == .txnListAppend {
                try sweepRaftWindow(challenge, windows: values, seedList: (0..<seeds).map { seed &+ UInt64($0) })
            }
            return
        }
        var failures: [String] = []
        for challenge in selected {
            if !runChallenge(challenge) { failures.append(challenge.name) }
        }
        // `all` with the challenges' own options also rewrites the declared sweeps, so that it
        // regenerates every tracked file under results/.
        if challenges.contains("all"), !hasOverrides, seed == 1, seeds == 1 {
            // Challenges with the same test and sweep (3d, 3e) share the runs.
            var done: [String: [HubFlushTradeoff.Row]] = [:]
            for challenge in selected {
                guard let sweep = challenge.hubFlushSweep else { continue }
                let key = "\(challenge.maelstromCommand) \(sweep.intervalsMS) \(sweep.seeds)"
                done[key] = try sweepHubFlush(challenge, intervals: sweep.intervalsMS,
                                              seedList: (1...UInt64(sweep.seeds)).map { $0 }, rows: done[key])
            }
            for challenge in selected {
                guard let sweep = challenge.raftWindowSweep else { continue }
                try sweepRaftWindow(challenge, windows: sweep.windowsMS, seedList: (1...UInt64(sweep.seeds)).map { $0 })
            }
        }
        if selected.count > 1 {
            print(failures.isEmpty ? "All \(selected.count) challenges passed."
                  : "Failed: \(failures.joined(separator: " ")) (\(selected.count - failures.count) of \(selected.count) passed)")
        }
        if !failures.isEmpty { throw ExitCode(1) }
    }

    /// The hub trade-off table (docs/broadcast.md, docs/gset.md): one line per interval, averaged over seeds.
    private func sweepHubFlush(_ selected: [Challenge], intervals: String) throws {
        let values = intervals.split(separator: ",").compactMap { Int64($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ $0 > 0 }) else { throw ValidationError("--hub-flush-sweep needs positive ms values, e.g. 50,100,200") }
        let seedList = (0..<seeds).map { seed &+ UInt64($0) }
        for challenge in selected where challenge.workload == .broadcast || challenge.workload == .gSet {
            try sweepHubFlush(challenge, intervals: values, seedList: seedList)
        }
    }

    /// Runs (or, given `rows`, reuses) one sweep and writes its files; returns the rows.
    @discardableResult
    private func sweepHubFlush(_ challenge: Challenge, intervals: [Int64], seedList: [UInt64],
                               rows known: [HubFlushTradeoff.Row]? = nil) throws -> [HubFlushTradeoff.Row] {
        print("\(challenge.name): hub flush interval sweep, seeds \(seedList.map(String.init).joined(separator: ","))")
        if !quiet { print(HubFlushTradeoff.tsvHeader) }
        let rows = known ?? HubFlushTradeoff.sweep(challenge, intervalsMS: intervals, seeds: seedList,
                                                    adjust: { adjust(&$0, workload: challenge.workload) }) { row in
            if !quiet { print(HubFlushTradeoff.tsv([row]).split(separator: "\n").last.map(String.init) ?? "") }
        }
        if !quiet { print(HubFlushTradeoff.markdown(rows)) }
        let directory = URL(fileURLWithPath: out).appendingPathComponent(challenge.name)
        let outcome = try HubFlushTradeoff.write(rows, to: directory, title: "evsim \(challenge.name): hub flush interval trade-off",
                                                  plot: !noPlots)
        if case .skipped(let why) = outcome, !noPlots { print("note: \(why)") }
        print("Results in \(directory.path)/tradeoff.tsv")
        return rows
    }

    /// The Raft coalescing window curve (docs/linkv.md): one line per window, averaged over seeds.
    private func sweepRaftWindow(_ challenge: Challenge, windows: [Double], seedList: [UInt64]) throws {
        print("\(challenge.name): Raft coalescing window sweep, seeds \(seedList.map(String.init).joined(separator: ","))")
        let rows = RaftWindowTradeoff.sweep(challenge, windowsMS: windows, seeds: seedList,
                                            adjust: { adjust(&$0, workload: challenge.workload) }) { row in
            if !quiet { print(RaftWindowTradeoff.tsv([row]).split(separator: "\n").last.map(String.init) ?? "") }
        }
        if !quiet { print(RaftWindowTradeoff.markdown(rows)) }
        let directory = URL(fileURLWithPath: out).appendingPathComponent(challenge.name)
        let budget = challenge.goals.first { $0.path == ["net", "servers", "msgs-per-op"] }?.limit
        let outcome = try RaftWindowTradeoff.write(rows, to: directory, title: "evsim \(challenge.name): Raft coalescing window, messages against latency",
                                                    budget: budget, plot: !noPlots)
        if case .skipped(let why) = outcome, !noPlots { print("note: \(why)") }
        print("Results in \(directory.path)/tradeoff.tsv")
    }

    /// `evsim faults`: every case of `FaultFigures.cases` (or those of the named challenges), 20
    /// seeds each unless --seeds says otherwise; prints a line per run and the table, writes
    /// OUT/faults/faults.tsv (per seed) and faults.md (the table). Exit status 0: these are figures.
    private func runFaultFigures() throws {
        let only = Set(challenges.dropFirst())
        let cases = FaultFigures.cases.filter { only.isEmpty || only.contains($0.challenge.name) }
        let count = seedOption ?? 20
        var rows: [FaultFigures.Row] = []
        for c in cases {
            for k in 0..<count {
                let result = c.challenge.run(seed: seed &+ UInt64(k)) { c.adjust(&$0) }
                let row = FaultFigures.measure(result, case: c)
                rows.append(row)
                if !quiet { print(FaultFigures.tsvLine(row)) }
            }
            if quiet { print(FaultFigures.table(rows.filter { $0.name == c.name }).split(separator: "\n").last.map(String.init) ?? "") }
        }
        let table = FaultFigures.table(rows)
        print(table, terminator: "")
        let directory = URL(fileURLWithPath: out).appendingPathComponent("faults")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try FaultFigures.tsv(rows).write(to: directory.appendingPathComponent("faults.tsv"), atomically: true, encoding: .utf8)
        try table.write(to: directory.appendingPathComponent("faults.md"), atomically: true, encoding: .utf8)
        print("Per-seed figures in \(directory.path)/faults.tsv, table in faults.md")
    }

    private func list() {
        if maelstromCommands {
            ChallengeList.maelstromCommands(bin: bin).forEach { print($0) }
        } else if readmeTable {
            print(ChallengeList.readmeTable(), terminator: "")
        } else {
            print(ChallengeList.text(), terminator: "")
        }
    }

    private func replayCommand(_ challenge: Challenge, seed: UInt64) -> String {
        ResultsWriter.replayCommand(challenge: challenge.name, seed: seed, overrides: overrideArguments)
    }

    private var pictureOptions: PictureOptions { PictureOptions(window: diagramWindow.flatMap(PictureOptions.parseWindow)) }

    /// The command that draws a failed run's messages and operations around its failure, in full.
    private func picturesCommand(_ challenge: Challenge, _ result: TestResult) -> String {
        let window = PictureOptions.windowArgument(PictureOptions.failureWindow(result))
        return replayCommand(challenge, seed: result.spec.seed)
            + " --diagram-window \(window) --out /tmp/evsim-\(challenge.name)-seed\(result.spec.seed)"
    }

    /// Runs every requested seed of one challenge; prints and writes the worst. True if all passed.
    private func runChallenge(_ challenge: Challenge) -> Bool {
        var runs: [TestResult] = []
        var wall: [UInt64: Double] = [:]
        for k in 0..<seeds {
            let runSeed = seed &+ UInt64(k)
            let started = ContinuousClock.now
            let result = challenge.run(seed: runSeed) { adjust(&$0, workload: challenge.workload) }
            let elapsed = ContinuousClock.now - started
            wall[runSeed] = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            runs.append(result)
            // Only the worst run is drawn: the others drop their message logs (memory, with many seeds).
            let worstSeed = RunRanking.worst(runs)!.spec.seed
            for i in runs.indices where runs[i].spec.seed != worstSeed { runs[i].messages = [] }
            // Wall time goes to the terminal only, never into a file.
            if quiet || seeds > 1 { print(RunRanking.oneLine(challenge.name, result) + String(format: " (%.2fs)", wall[runSeed]!)) }
            if !result.passed, quiet || seeds > 1 {
                print("  replay: \(replayCommand(challenge, seed: runSeed))")
                print("  pictures: \(picturesCommand(challenge, result))")
            }
        }
        let worst = RunRanking.worst(runs)!
        if !quiet {
            if seeds > 1 { print("Worst of \(seeds) seeds:") }
            print(Summary.text(worst, challenge: challenge, replayCommand: replayCommand(challenge, seed: worst.spec.seed),
                               wallSeconds: wall[worst.spec.seed], elide: 12))
            if !worst.passed { print("Diagram and timeline around the failure: \(picturesCommand(challenge, worst))") }
        }
        write(challenge, worst, allRuns: runs)
        return runs.allSatisfy(\.passed)
    }

    private func write(_ challenge: Challenge, _ result: TestResult, allRuns: [TestResult]) {
        let directory = URL(fileURLWithPath: out).appendingPathComponent(challenge.name)
        do {
            var writer = ResultsWriter(directory: directory)
            writer.pictures = pictureOptions
            try writer.write(result, challenge: challenge, replayCommand: replayCommand(challenge, seed: result.spec.seed))
            if allRuns.count > 1 {
                try RunRanking.seedsTable(allRuns).write(to: directory.appendingPathComponent("seeds.tsv"), atomically: true, encoding: .utf8)
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
        if !quiet {
            let arrows = MessageDiagram.counts(result, options: pictureOptions)
            let boxes = Timeline.counts(result, options: pictureOptions)
            print("Pictures: messages.svg \(arrows.drawn) of \(arrows.candidates) messages, timeline.html \(boxes.drawn) of \(boxes.candidates) operations")
            print("Results in \(directory.path)/")
        }
    }
}

import EVCheckers
import EVCore
import EVSimCore
import Workloads

/// Runs one `TestSpec` the way Maelstrom's harness does (protocol reference §6, §12):
/// init every node (each at its start-skew offset; the clients start once all answered, though a
/// node may still be stalled after its init), send the model's setup requests, then `concurrency` closed-loop workers fed by
/// one globally staggered generator for `timeLimit` seconds, with the partition and process-fault
/// nemeses alongside; then, for workloads with a final phase, heal, resume and restart every node,
/// wait 10 s and run each worker's final operations.
/// Finally the standard checkers and the workload's checker turn the history into a result map.
///
/// Everything random comes from the spec's seed, so a seed replays a run message for message
/// (compare `TestResult.traceHash`).
public final class Runner {
    public let spec: TestSpec
    public let model: WorkloadModel
    public let cluster: Cluster

    private var rng: SimRandom
    private var workers: [Worker] = []
    private var history: [Operation] = []
    private var eventIndex = 0
    private var nemesis: PartitionNemesis?
    private var processNemesis: ProcessNemesis?
    private var trace = TraceHash()
    private var netPerSecond: [(servers: Int, clients: Int)] = []
    private var phases = TestResult.Phases()
    private var setupErrors: [String] = []
    /// Problems of the run itself (an operation that never completed): the run is invalid.
    private var harnessErrors: [String] = []
    private var finished = false

    // Generator state (Jepsen's stagger around the workload generator, inside a time limit).
    private var loadEndsAt: Micros = 0
    private var nextOpTime: Micros = 0
    private var wakeScheduled: Micros?
    private var generating = false

    private final class Worker {
        let index: Int
        let node: String
        var client: SimClient
        var process: Int
        var busy = false
        init(index: Int, node: String, client: SimClient, process: Int) {
            self.index = index
            self.node = node
            self.client = client
            self.process = process
        }
    }

    public init(spec: TestSpec) {
        self.spec = spec
        model = spec.makeModel()
        var config = ClusterConfig(nodeCount: spec.nodeCount, latency: .ms(spec.latencyMS), seed: spec.seed)
        config.distribution = spec.latencyDistribution
        config.startSkew = spec.startSkew
        config.logLevel = spec.logLevel
        config.workloads = spec.workloads
        model.configure(&config.workloads)
        config.handlerFactory = spec.handlerFactory
        cluster = Cluster(config)
        model.watch(cluster)
        // The runner's own stream, independent of the cluster's, so adding a draw in a node or
        // service does not shift the generator or the nemesis.
        rng = SimRandom(seed: spec.seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }

    /// Runs the whole test and checks it.
    public func run() -> TestResult {
        let previousOnSend = cluster.network.onSend
        cluster.network.onSend = { [unowned self] message in
            previousOnSend?(message)
            trace.add(message)
            let second = Int(message.sentAt / 1_000_000)
            while netPerSecond.count <= second { netPerSecond.append((0, 0)) }
            if SimNetwork.isClient(message.src) || SimNetwork.isClient(message.dest) {
                netPerSecond[second].clients += 1
            } else {
                netPerSecond[second].servers += 1
            }
        }

        let messageLog = MessageLog()
        cluster.network.log = messageLog

        let silent = cluster.initialize()
        if !silent.isEmpty { setupErrors.append("no init_ok within 10 s from \(silent.joined(separator: ", "))") }
        if setupErrors.isEmpty { sendSetupRequests() }
        if setupErrors.isEmpty { runPhases() }
        phases.end = cluster.now
        // The result map is Maelstrom's: taken when its run would end, before any settling below.
        var result = check()
        result.messages = messageLog.records
        cluster.network.log = nil
        guard setupErrors.isEmpty, harnessErrors.isEmpty else { return result }
        if model.settlesBeforeInvariants {
            nemesis?.heal()
            cluster.network.heal()
            processNemesis?.recoverAll()
            cluster.run(for: spec.recoveryWait)
            result.phases.settled = cluster.now
        }
        result.invariants = model.invariants(history, cluster: cluster)
        return result
    }

    // MARK: setup

    /// The model's setup requests (e.g. topology), each from its own client, all answered before
    /// load starts. A failure aborts the test as it would in Maelstrom.
    private func sendSetupRequests() {
        let requests = model.setupRequests(nodeIDs: cluster.nodeIDs)
        var answered = 0
        for request in requests {
            let client = cluster.newClient()
            let type = request.body["type"]?.string ?? "?"
            client.call(request.node, request.body, timeout: .ms(10_000)) { [unowned self] reply in
                answered += 1
                guard let reply else {
                    setupErrors.append("\(type) to \(request.node): no reply within 10 s")
                    return
                }
                if reply["type"]?.string != type + "_ok" {
                    setupErrors.append("\(type) to \(request.node): \(reply.text)")
                }
            }
        }
        cluster.run(until: { answered == requests.count }, limit: .ms(10_000))
    }

    // MARK: phases

    private func runPhases() {
        let workerCount = spec.workerCount
        for i in 0..<workerCount {
            workers.append(Worker(index: i, node: cluster.nodeIDs[i % cluster.nodeIDs.count],
                                  client: cluster.newClient(), process: i))
        }
        phases.loadStart = cluster.now
        loadEndsAt = cluster.now + .seconds(spec.timeLimit)
        nextOpTime = cluster.now
        generating = true
        if spec.nemesis.contains(.partition) {
            let n = PartitionNemesis(cluster: cluster, interval: .seconds(spec.nemesisInterval),
                                     stopAt: loadEndsAt, rng: rng.fork())
            nemesis = n
            n.start()
        }
        if spec.nemesis.contains(.kill) || spec.nemesis.contains(.pause) {
            // Its own stream from the seed: runs without process faults draw exactly as before.
            let n = ProcessNemesis(cluster: cluster, kinds: spec.nemesis, interval: .seconds(spec.nemesisInterval),
                                   stopAt: loadEndsAt, rng: SimRandom(seed: spec.seed ^ 0x0B5E_55ED_C0FF_EE11))
            processNemesis = n
            n.start()
        }
        cluster.events.schedule(at: loadEndsAt) { [unowned self] in stopGenerating() }
        cluster.events.schedule(at: cluster.now) { [unowned self] in pump() }

        // Generous ceiling: every phase is bounded by client timeouts, so this only trips when a
        // model never completes an operation.
        let ceiling = loadEndsAt + spec.clientTimeout * 2 + spec.recoveryWait + .seconds(600)
        cluster.events.run(until: ceiling, while: { !finished })
        if !finished {
            harnessErrors.append("run did not finish by \(Double(ceiling) / 1e6) s: some operation never completed")
        }
    }

    /// Hands the next operation to a random free worker once its staggered start time has come.
    private func pump() {
        guard generating else { return }
        let now = cluster.now
        if now < nextOpTime {
            if wakeScheduled != nextOpTime {
                wakeScheduled = nextOpTime
                let at = nextOpTime
                cluster.events.schedule(at: at) { [unowned self] in
                    if wakeScheduled == at { wakeScheduled = nil }
                    pump()
                }
            }
            return
        }
        let freeCount = workers.reduce(0) { $0 + ($1.busy ? 0 : 1) }
        guard freeCount > 0 else { return } // a completion calls pump again
        var pick = rng.int(0...freeCount - 1)
        let worker = workers.first { w in
            guard !w.busy else { return false }
            defer { pick -= 1 }
            return pick == 0
        }!
        let (f, value) = model.nextOperation(worker: worker.index, rng: &rng)
        // Jepsen's stagger: the next op is due a uniform [0, 2/rate] after this one.
        nextOpTime = now + Micros(rng.unit() * 2_000_000 / spec.rate)
        invoke(worker, f: f, value: value, isFinal: false) { [unowned self] in
            if generating { pump() } else { mainPhaseMaybeDrained() }
        }
        pump()
    }

    private func stopGenerating() {
        guard generating else { return }
        generating = false
        phases.loadStop = cluster.now
        mainPhaseMaybeDrained()
    }

    /// Jepsen's phases wait for every outstanding operation before the next phase.
    private func mainPhaseMaybeDrained() {
        guard !generating, phases.loadDrained == 0, workers.allSatisfy({ !$0.busy }) else { return }
        phases.loadDrained = cluster.now
        guard model.hasFinalPhase else {
            // No final generator, but the nodes are brought back before the result map (and before
            // the settling wait of the txn invariant): a late reply to a removed client still counts.
            processNemesis?.recoverAll()
            return finish()
        }
        nemesis?.heal()
        cluster.network.heal()
        processNemesis?.recoverAll()
        cluster.events.schedule(after: spec.recoveryWait) { [unowned self] in startFinalPhase() }
    }

    private func startFinalPhase() {
        phases.finalStart = cluster.now
        var remaining = workers.count
        for worker in workers {
            runFinal(worker, completed: 0) { [unowned self] in
                remaining -= 1
                if remaining == 0 { finish() }
            }
        }
        if workers.isEmpty { finish() }
    }

    private func runFinal(_ worker: Worker, completed: Int, done: @escaping () -> Void) {
        guard let next = model.nextFinalOperation(worker: worker.index, completed: completed) else { return done() }
        let start = { [unowned self] in
            invoke(worker, f: next.f, value: next.value, isFinal: true) { [unowned self] in
                runFinal(worker, completed: completed + 1, done: done)
            }
        }
        if next.after > 0 { cluster.events.schedule(after: next.after, start) } else { start() }
    }

    private func finish() { finished = true }

    // MARK: operations

    private func nextEventIndex() -> Int {
        defer { eventIndex += 1 }
        return eventIndex
    }

    /// Invokes one operation on a worker's client and records it; `then` runs after completion.
    private func invoke(_ worker: Worker, f: String, value: JSONValue, isFinal: Bool, then: @escaping () -> Void) {
        worker.busy = true
        let slot = history.count
        var op = Operation(process: worker.process, worker: worker.index, node: worker.node,
                           client: worker.client.id, f: f, value: value, invokedAt: cluster.now, isFinal: isFinal)
        op.invokeIndex = nextEventIndex()
        history.append(op)
        let client = worker.client
        let node = worker.node
        let timeout = spec.clientTimeout
        let events = cluster.events
        var completed = false
        model.execute(f: f, value: value, worker: worker.index, call: { body, reply in
            // A model calling after its op completed would use a closed client: answer as a timeout.
            guard !client.isClosed else { return events.schedule(after: 0) { reply(nil) } }
            client.call(node, body, timeout: timeout, reply)
        }, complete: { [unowned self] outcome in
            guard !completed else { return }
            completed = true
            history[slot].completedAt = cluster.now
            history[slot].outcome = outcome
            history[slot].completeIndex = nextEventIndex()
            worker.busy = false
            if case .info = outcome { replaceProcess(worker) }
            then()
        })
    }

    /// After an indefinite result the worker becomes a new logical process; a non-reusable client
    /// is closed (removed from the network) and replaced by a fresh client id (reference §6.3).
    private func replaceProcess(_ worker: Worker) {
        worker.process += workers.count
        guard !model.reusableClients else { return }
        worker.client.close()
        worker.client = cluster.newClient()
    }

    // MARK: checking

    /// Both nemeses' logs in time order (partition first on a tie: it was scheduled first).
    private var nemesisEvents: [NemesisEvent] {
        let all = (nemesis?.events ?? []) + (processNemesis?.events ?? [])
        return all.enumerated().sorted { ($0.element.time, $0.offset) < ($1.element.time, $1.offset) }.map(\.element)
    }

    private func check() -> TestResult {
        let stats = StandardCheckers.stats(history)
        let availability = StandardCheckers.availability(history, requirement: spec.availability)
        let net = StandardCheckers.net(cluster.network.stats.messageCounts, operationCount: history.count)
        let undeliverable = UndeliverableCheck.undeliverable(cluster.messagesToMissingIDs)
        var checks: [(String, CheckResult)] = []
        if !setupErrors.isEmpty {
            // Maelstrom aborts such a test with an exception: no verdict can be valid.
            checks.append(("setup", CheckResult(validity: .invalid, details: [
                "valid?": false, "errors": .array(setupErrors.map { .string($0) })])))
        }
        let workload = history.isEmpty && !setupErrors.isEmpty
            ? CheckResult(validity: .unknown, details: ["valid?": ":unknown", "error": "no history"])
            : model.check(history)
        if !harnessErrors.isEmpty {
            checks.append(("harness", CheckResult(validity: .invalid, details: [
                "valid?": false, "errors": .array(harnessErrors.map { .string($0) })])))
        }
        checks += [("stats", stats), ("availability", availability), ("net", net),
                   ("workload", workload), ("undeliverable", undeliverable)]
        let nemesisEvents = self.nemesisEvents
        if let processNemesis { checks.append(("nemesis", processNemesis.report(allEvents: nemesisEvents))) }
        let validity = Validity.combine(checks.map(\.1.validity))
        let map: JSONValue = .object([("valid?", validity.json)] + checks.map { ($0.0, $0.1.details) })
        return TestResult(spec: spec, workload: model.kind, validity: validity, results: map, history: history,
                          nemesisEvents: nemesisEvents, net: cluster.network.stats,
                          netPerSecond: netPerSecond, traceHash: trace,
                          undeliverable: cluster.messagesToMissingIDs, phases: phases,
                          logs: Array(cluster.logs.lines.prefix(50)))
    }
}

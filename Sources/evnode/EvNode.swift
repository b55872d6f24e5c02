import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import EVCore
import EVLoop
import Logging
import Workloads

extension WorkloadKind: ExpressibleByArgument {}

extension Logger.Level: @retroactive ExpressibleByArgument {}

@main
struct EvNode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evnode",
        abstract: "A Maelstrom node for every Gossip Glomers challenge, on libev and jansson.",
        discussion: """
        Speaks Maelstrom's protocol on stdin/stdout: one JSON message per line. Run it under Maelstrom, e.g.
          maelstrom test -w echo --bin .build/release/evnode --node-count 1 --time-limit 10

        One binary serves all ten Maelstrom workloads (echo, unique-ids, broadcast, g-set, g-counter,
        pn-counter, kafka, txn-rw-register, lin-kv, txn-list-append): the message types, and where
        workloads share a type the bodies, tell which. Logs go to stderr; stdout carries protocol
        messages only.
        Arguments it does not know are ignored, so stray ones passed on by Maelstrom do no harm.
        """)

    @Option(help: "Serve only this workload instead of inferring it from message types (\(WorkloadDescriptor.builtInNames.joined(separator: ", "))).")
    var workload: WorkloadKind?

    @Option(help: "Lowest level logged to stderr (trace, debug, info, notice, warning, error, critical).")
    var logLevel: Logger.Level = .info

    @Option(help: "Longest input line accepted, in bytes; longer lines are rejected with an error reply.")
    var maxLineBytes: Int = 1 << 20

    @Flag(help: "Durable mode: store every acknowledged write in lin-kv before acknowledging it, so a killed node loses nothing (also on with EVNODE_DURABLE=1 in the environment, which Maelstrom passes on to its nodes).")
    var durable = false

    @Option(help: "Queued stdout bytes above which input is paused and peer traffic waits (resumes at a quarter of it).")
    var outputHighWaterBytes: Int = 1 << 20

    @Option(help: "Queued stdout bytes past which lines to peers and services are dropped (client replies never are).")
    var maxOutputBytes: Int = 16 << 20

    @Argument(parsing: .allUnrecognized, help: .hidden)
    var ignored: [String] = []

    /// EVNODE_DURABLE=1 (or true/yes/on) switches durable mode on.
    static func durableFromEnvironment() -> Bool {
        guard let v = getenv("EVNODE_DURABLE").map({ String(cString: $0).lowercased() }) else { return false }
        return ["1", "true", "yes", "on"].contains(v)
    }

    func run() throws {
        let level = logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "evnode")
        if !ignored.isEmpty {
            logger.notice("ignoring arguments: \(ignored.joined(separator: " "))")
        }
        let loop = EventLoop(maxLineBytes: maxLineBytes, logger: logger,
                             limits: OutputLimits(highWater: outputHighWaterBytes, hardCap: maxOutputBytes))
        var config = WorkloadConfig()
        config.durability.enabled = durable || Self.durableFromEnvironment()
        if config.durability.enabled { logger.notice("durable mode: acknowledged writes are stored in \(config.durability.service)") }
        let router = Router(forced: workload, config: config)
        loop.node = Node(transport: loop, handler: router, logger: logger)
        loop.run()
    }
}

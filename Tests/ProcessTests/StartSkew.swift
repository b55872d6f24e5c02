import EVCore
import Foundation
import XCTest

/// How late one node's lines get through: what a loaded machine does to a process (issue 20).
struct NodeSkew: Equatable, CustomStringConvertible {
    /// Every stdout line written after the node's `init_ok` reaches the harness this much later, in
    /// order: the node's requests to peers and kv services, and its replies to clients.
    var outputDelay: TimeInterval
    /// Every kv-service reply reaches the node this much later, in order.
    var serviceReplyDelay: TimeInterval = 0

    var description: String { "+\(Int((outputDelay * 1000).rounded()))ms out/+\(Int((serviceReplyDelay * 1000).rounded()))ms kv" }
}

/// Start skew for a cluster of processes, drawn from a seed so a failing run can be replayed:
/// each node gets a fixed output delay and a fixed kv reply delay. So that every draw is a real
/// skew, the seed picks a fastest node (output delay in the lowest quarter of the range) and a
/// slowest one (the highest quarter); any other node draws from the whole range. Issue 20's race
/// needs the slow node's first kv request to land after the fast node's second: a lag of at least
/// half the range, more than twice the fast node's delay.
///
/// Per run, `$EVNODE_SKEW_SEED` replays a seed, `$EVNODE_SKEW=off` turns the skew off, and the
/// seed is random otherwise.
struct StartSkew: CustomStringConvertible {
    let seed: UInt64
    let nodes: [NodeSkew]

    init(seed: UInt64, count: Int, maxOutputDelay: TimeInterval = 0.1, maxServiceDelay: TimeInterval = 0.005) {
        self.seed = seed
        var rng = SplitMix64(seed: seed)
        func draw(_ range: ClosedRange<Double>) -> TimeInterval { Double.random(in: range, using: &rng) }
        let fastest = Int.random(in: 0..<count, using: &rng)
        let slowest = count > 1 ? (fastest + Int.random(in: 1..<count, using: &rng)) % count : fastest
        nodes = (0..<count).map { i in
            let span: ClosedRange<Double> = i == slowest && count > 1 ? 0.75...1 : i == fastest ? 0...0.25 : 0...1
            return NodeSkew(outputDelay: draw(span) * maxOutputDelay, serviceReplyDelay: draw(0...1) * maxServiceDelay)
        }
    }

    /// This run's skew for `count` nodes, nil when `$EVNODE_SKEW` is `off`.
    static func forThisRun(count: Int, maxOutputDelay: TimeInterval = 0.1) -> StartSkew? {
        let env = ProcessInfo.processInfo.environment
        if env["EVNODE_SKEW"] == "off" { return nil }
        let seed = env["EVNODE_SKEW_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 1...999_999)
        return StartSkew(seed: seed, count: count, maxOutputDelay: maxOutputDelay)
    }

    var description: String {
        "seed \(seed): " + nodes.enumerated().map { "n\($0.offset) \($0.element)" }.joined(separator: ", ")
    }
}

/// A FIFO with latency: each item runs `delay` after it was pushed, in push order (an item never
/// overtakes the one before it), on a thread of its own. A slow pipe between two processes.
final class DelayLine: @unchecked Sendable {
    private let changed = NSCondition()
    private var items: [(due: Date, work: () -> Void)] = []
    private var head = 0
    private var closed = false

    init(name: String) {
        let thread = Thread { [self] in run() } // holds the line until it is closed and drained
        thread.name = name
        thread.start()
    }

    func push(after delay: TimeInterval, _ work: @escaping () -> Void) {
        changed.withLock {
            let due = max(Date(timeIntervalSinceNow: delay), items.last?.due ?? .distantPast)
            items.append((due, work))
        }
        changed.signal()
    }

    /// No more items: the thread ends once those pushed so far ran.
    func close() {
        changed.withLock { closed = true }
        changed.signal()
    }

    private func run() {
        changed.lock()
        while true {
            if head == items.count {
                if closed { break }
                changed.wait()
                continue
            }
            let next = items[head]
            if next.due > Date() {
                _ = changed.wait(until: next.due)
                continue
            }
            head += 1
            if head > 1024 { items.removeFirst(head); head = 0 }
            changed.unlock()
            next.work()
            changed.lock()
        }
        changed.unlock()
    }
}

/// For process tests behind a skew: prints the skew, and when the test failed, the seed to replay
/// and the end of every node's stderr.
extension XCTestCase {
    func reportSeedOnFailure(_ skew: StartSkew?, cluster: EvnodeCluster) {
        print("start skew: \(skew?.description ?? "off")")
        addTeardownBlock { [weak self] in
            guard let run = self?.testRun, run.failureCount + run.unexpectedExceptionCount > 0 else { return }
            for id in cluster.ids {
                let log = cluster[id].stderrText.split(separator: "\n").suffix(20)
                print("stderr of \(id), last \(log.count) lines:\n" + log.map { "  \($0)" }.joined(separator: "\n"))
            }
            let replay = skew.map { "EVNODE_SKEW_SEED=\($0.seed)" } ?? "EVNODE_SKEW=off"
            print("FAILED behind start skew \(skew?.description ?? "off"); replay: \(replay) swift test --filter \(self?.name ?? "")")
        }
    }
}

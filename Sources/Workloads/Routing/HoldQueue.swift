import EVCore

/// Messages the router cannot run yet, in arrival order, each with its receipt time (a held
/// request is answered against the time it arrived, as if handled then) and a deadline. Bounded
/// in count and bytes: past either bound a message is refused at once instead.
struct HoldQueue {
    enum Reason: Equatable {
        /// Its workload's start record is not confirmed yet.
        case startRecord
        /// Its body fits several workloads (these) and none runs here yet.
        case ambiguous([WorkloadKind])
    }

    struct Held {
        let line: String
        let receivedAt: Micros
        let request: RequestRef?
        let reason: Reason
        let deadline: Micros
    }

    static let maxCount = 100_000
    static let maxBytes = 16 << 20

    private(set) var items: [Held] = []
    private var bytes = 0

    var isEmpty: Bool { items.isEmpty }
    var count: Int { items.count }

    /// Holds `held`; false (and nothing kept) when the queue is full.
    mutating func hold(_ held: Held) -> Bool {
        guard items.count < Self.maxCount, bytes + held.line.utf8.count <= Self.maxBytes else { return false }
        items.append(held)
        bytes += held.line.utf8.count
        return true
    }

    /// Takes out every message (to be routed again).
    mutating func takeAll() -> [Held] {
        defer {
            items.removeAll()
            bytes = 0
        }
        return items
    }

    /// Takes out the messages whose deadline has passed.
    mutating func takeExpired(now: Micros) -> [Held] {
        let expired = items.filter { $0.deadline <= now }
        guard !expired.isEmpty else { return [] }
        items.removeAll { $0.deadline <= now }
        bytes -= expired.reduce(0) { $0 + $1.line.utf8.count }
        return expired
    }

    /// The earliest deadline of a held message.
    var nextDeadline: Micros? { items.lazy.map(\.deadline).min() }
}

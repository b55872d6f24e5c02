import EVCore
import HeapModule

/// The simulation's virtual clock and its pending events, ordered by (time, scheduling order).
/// Ties run in the order they were scheduled, which is what makes a run deterministic.
public final class EventQueue {
    public private(set) var now: Micros = 0
    public private(set) var processed = 0
    private var heap = Heap<Scheduled<() -> Void>>()
    private var nextSeq = 0

    public init() {}

    public var isEmpty: Bool { heap.isEmpty }
    public var nextTime: Micros? { heap.min?.time }

    public func schedule(at time: Micros, _ action: @escaping () -> Void) {
        nextSeq += 1
        heap.insert(Scheduled(time: max(time, now), seq: nextSeq, payload: action))
    }

    public func schedule(after delay: Micros, _ action: @escaping () -> Void) {
        schedule(at: now + delay, action)
    }

    /// Runs events in order while `condition` holds (checked before each event) and the next event
    /// is not later than `limit`. With a limit, the clock then stands at least at `limit`.
    public func run(until limit: Micros? = nil, while condition: () -> Bool = { true }) {
        while condition(), let top = heap.min {
            if let limit, top.time > limit { break }
            heap.removeMin()
            now = top.time
            processed += 1
            top.payload()
        }
        if let limit, limit > now, condition() { now = limit }
    }
}

import EVCore

/// The simulation's virtual clock and its pending events, ordered by (time, scheduling order).
/// Ties run in the order they were scheduled, which is what makes a run deterministic.
public final class EventQueue {
    public private(set) var now: Micros = 0
    public private(set) var processed = 0
    private var heap = EventHeap()
    private var nextSeq = 0

    public init() {}

    public var isEmpty: Bool { heap.isEmpty }
    public var nextTime: Micros? { heap.minTime }

    public func schedule(at time: Micros, _ action: @escaping () -> Void) {
        nextSeq += 1
        heap.insert(time: max(time, now), seq: nextSeq, action: action)
    }

    public func schedule(after delay: Micros, _ action: @escaping () -> Void) {
        schedule(at: now + delay, action)
    }

    /// Runs events in order while `condition` holds (checked before each event) and the next event
    /// is not later than `limit`. With a limit, the clock then stands at least at `limit`.
    public func run(until limit: Micros? = nil, while condition: () -> Bool = { true }) {
        while condition(), let time = heap.minTime {
            if let limit, time > limit { break }
            let (at, action) = heap.popMin()!
            now = at
            processed += 1
            action()
        }
        if let limit, limit > now, condition() { now = limit }
    }
}

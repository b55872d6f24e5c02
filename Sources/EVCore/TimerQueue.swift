import HeapModule

/// Identifies a timer so it can be cancelled.
public struct TimerID: Hashable, Sendable {
    public let raw: Int
}

/// An entry of a deadline-ordered min-heap: ties go in scheduling order, which keeps the
/// simulator deterministic. Used by node timers (below) and the simulator's per-receiver message
/// queues (SimNetwork); the simulator's event queue has its own heap (EventHeap).
public struct Scheduled<Payload>: Comparable {
    public let time: Int64
    public let seq: Int
    public let payload: Payload

    public init(time: Int64, seq: Int, payload: Payload) {
        self.time = time
        self.seq = seq
        self.payload = payload
    }

    public static func < (a: Self, b: Self) -> Bool { a.time != b.time ? a.time < b.time : a.seq < b.seq }
    public static func == (a: Self, b: Self) -> Bool { a.time == b.time && a.seq == b.seq }
}

/// One-shot and periodic timers ordered by deadline. Cancelling is lazy: a cancelled entry stays
/// in the heap and is skipped when it comes due.
struct TimerQueue {
    private struct Action {
        let interval: Micros? // non-nil for periodic timers
        let run: () -> Void
    }

    private var heap = Heap<Scheduled<Int>>() // payload: timer id
    private var actions: [Int: Action] = [:]
    private var nextSeq = 0

    var nextDeadline: Micros? { heap.min?.time }

    mutating func schedule(at deadline: Micros, every interval: Micros?, _ run: @escaping () -> Void) -> TimerID {
        nextSeq += 1
        actions[nextSeq] = Action(interval: interval, run: run)
        heap.insert(Scheduled(time: deadline, seq: nextSeq, payload: nextSeq))
        return TimerID(raw: nextSeq)
    }

    mutating func cancel(_ id: TimerID) { actions[id.raw] = nil }

    /// Cancels every timer. Ids keep counting up, so a stale `TimerID` held by old code can never
    /// cancel a timer scheduled afterwards.
    mutating func cancelAll() {
        actions.removeAll()
        heap = Heap()
    }

    /// Removes and returns the next due action (re-arming periodic ones), or nil if none is due.
    mutating func popDue(now: Micros) -> (() -> Void)? {
        while let top = heap.min, top.time <= now {
            heap.removeMin()
            guard let action = actions[top.payload] else { continue } // cancelled
            if let interval = action.interval {
                nextSeq += 1
                heap.insert(Scheduled(time: max(top.time + interval, now), seq: nextSeq, payload: top.payload))
            } else {
                actions[top.payload] = nil
            }
            return action.run
        }
        // Drop cancelled entries at the top so nextDeadline is not spuriously early.
        while let top = heap.min, actions[top.payload] == nil { heap.removeMin() }
        return nil
    }
}

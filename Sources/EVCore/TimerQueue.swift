/// Identifies a timer so it can be cancelled.
public struct TimerID: Hashable, Sendable {
    public let raw: Int
}

/// One-shot and periodic timers ordered by deadline (a binary min-heap). Cancelling is lazy:
/// a cancelled entry stays in the heap and is skipped when it comes due.
struct TimerQueue {
    private struct Entry {
        let deadline: Micros
        let seq: Int // ties fire in scheduling order, which keeps simulations deterministic
        let id: Int
    }

    private struct Action {
        let interval: Micros? // non-nil for periodic timers
        let run: () -> Void
    }

    private var heap: [Entry] = []
    private var actions: [Int: Action] = [:]
    private var nextSeq = 0

    var nextDeadline: Micros? {
        heap.first?.deadline
    }

    var count: Int { actions.count }

    mutating func schedule(at deadline: Micros, every interval: Micros?, _ run: @escaping () -> Void) -> TimerID {
        nextSeq += 1
        actions[nextSeq] = Action(interval: interval, run: run)
        push(Entry(deadline: deadline, seq: nextSeq, id: nextSeq))
        return TimerID(raw: nextSeq)
    }

    mutating func cancel(_ id: TimerID) { actions[id.raw] = nil }

    /// Removes and returns the next due action (re-arming periodic ones), or nil if none is due.
    mutating func popDue(now: Micros) -> (() -> Void)? {
        while let top = heap.first, top.deadline <= now {
            pop()
            guard let action = actions[top.id] else { continue } // cancelled
            if let interval = action.interval {
                nextSeq += 1
                push(Entry(deadline: max(top.deadline + interval, now), seq: nextSeq, id: top.id))
            } else {
                actions[top.id] = nil
            }
            return action.run
        }
        // Drop cancelled entries at the top so nextDeadline is not spuriously early.
        while let top = heap.first, actions[top.id] == nil { pop() }
        return nil
    }

    private mutating func push(_ e: Entry) {
        heap.append(e)
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard less(heap[i], heap[parent]) else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    private mutating func pop() {
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        heap[0] = last
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < heap.count && less(heap[l], heap[m]) { m = l }
            if r < heap.count && less(heap[r], heap[m]) { m = r }
            if m == i { break }
            heap.swapAt(i, m)
            i = m
        }
    }

    private func less(_ a: Entry, _ b: Entry) -> Bool {
        a.deadline != b.deadline ? a.deadline < b.deadline : a.seq < b.seq
    }
}

/// A binary min-heap of (time, seq) keys for the event queue. Keys are plain integers and the
/// actions live in a side table, so sifting moves no reference-counted values and compares no
/// generic elements: the simulator's hottest structure stays cheap in debug builds too (the
/// generic swift-collections Heap is compiled unoptimized there).
struct EventHeap {
    private struct Key {
        var time: Int64
        var seq: Int
        var slot: Int
        @inline(__always) func precedes(_ other: Key) -> Bool {
            time != other.time ? time < other.time : seq < other.seq
        }
    }

    private var keys: [Key] = []
    private var actions: [(() -> Void)?] = []
    private var freeSlots: [Int] = []

    var isEmpty: Bool { keys.isEmpty }
    var count: Int { keys.count }
    var minTime: Int64? { keys.first?.time }

    mutating func insert(time: Int64, seq: Int, action: @escaping () -> Void) {
        let slot: Int
        if let free = freeSlots.popLast() {
            slot = free
            actions[slot] = action
        } else {
            slot = actions.count
            actions.append(action)
        }
        keys.append(Key(time: time, seq: seq, slot: slot))
        var child = keys.count - 1
        let key = keys[child]
        while child > 0 {
            let parent = (child - 1) / 2
            guard key.precedes(keys[parent]) else { break }
            keys[child] = keys[parent]
            child = parent
        }
        keys[child] = key
    }

    /// Removes the earliest event; returns its time and action.
    mutating func popMin() -> (time: Int64, action: () -> Void)? {
        guard let top = keys.first else { return nil }
        let last = keys.removeLast()
        if !keys.isEmpty {
            var parent = 0
            let n = keys.count
            while true {
                let left = 2 * parent + 1
                guard left < n else { break }
                var child = left
                if left + 1 < n, keys[left + 1].precedes(keys[left]) { child = left + 1 }
                guard keys[child].precedes(last) else { break }
                keys[parent] = keys[child]
                parent = child
            }
            keys[parent] = last
        }
        let action = actions[top.slot]!
        actions[top.slot] = nil
        freeSlots.append(top.slot)
        return (top.time, action)
    }
}

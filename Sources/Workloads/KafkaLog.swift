/// One key's log as this node holds it: the message at offset i is `messages[i]`, so offsets are
/// dense from 0 and storage is one machine word per message (100k messages per key ≈ 800 KB).
/// Every entry arrives through `apply`, the owner's own as every replica's: entries that arrive
/// past a gap wait in `pending` until the gap closes, so `messages` is always a prefix without
/// holes and a poll served from it can never skip an offset.
final class KafkaKeyLog {
    private(set) var messages: [Int] = []
    /// Replicated entries beyond the dense prefix, by offset.
    private var pending: [Int: Int] = [:]

    var count: Int { messages.count }

    /// Stores entries the owner assigned from offset `start` on. Returns false if one of them
    /// contradicts what is already stored (which would mean two owners; the stored one is kept).
    @discardableResult
    func apply(start: Int, _ entries: [Int]) -> Bool {
        guard start >= 0, start <= Int.max - entries.count else { return false }
        var consistent = true
        for (i, message) in entries.enumerated() {
            let offset = start + i
            if offset < messages.count {
                if messages[offset] != message { consistent = false }
            } else if offset == messages.count {
                messages.append(message)
            } else if let held = pending[offset] {
                if held != message { consistent = false }
            } else {
                pending[offset] = message
            }
        }
        while let next = pending.removeValue(forKey: messages.count) { messages.append(next) }
        return consistent
    }
}

/// Which node owns (assigns offsets for) a key: FNV-1a of the key's bytes modulo the node count.
/// Every node computes the same answer; Swift's `Hasher` would not (it is seeded per process).
enum KafkaOwnership {
    static func ownerIndex(of key: String, nodeCount: Int) -> Int {
        guard nodeCount > 1 else { return 0 }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return Int(hash % UInt64(nodeCount))
    }
}

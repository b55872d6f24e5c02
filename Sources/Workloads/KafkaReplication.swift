import EVCore

/// Both directions of the asynchronous replication between this node and one peer.
///
/// Outgoing: entries of keys this node owns are cut into numbered batches (at most one message
/// per `replicationInterval`); a batch stays in `unacked` until the peer's cumulative
/// acknowledgement covers it and is sent again every `retransmitTimeout` until then, so a lost
/// message delays replication but never loses an entry. Incoming: batches are applied once (they
/// are idempotent anyway) and acknowledged cumulatively, on our own next batch when there is one.
final class KafkaReplicationLink {
    struct Run {
        let key: String
        let start: Int
        let messages: [Int]
    }

    struct Batch {
        let seq: Int
        let runs: [Run]
        var lastSentAt: Micros
        var entryCount: Int { runs.reduce(0) { $0 + $1.messages.count } }
    }

    let peer: String

    // Outgoing.
    /// Per owned key, how many of its entries are already in a batch for this peer.
    private var shipped: [String: Int] = [:]
    /// Keys with entries not yet in a batch, in the order they became dirty (deterministic).
    private var dirtyOrder: [String] = []
    private var dirtySet: Set<String> = []
    private(set) var unacked: [Batch] = []
    private var nextSeq = 1
    private(set) var lastSentAt: Micros?
    var timer: TimerID?
    var timerAt: Micros = 0

    // Incoming.
    /// Every batch up to this sequence number was received.
    private(set) var receivedThrough = 0
    private var receivedAbove: Set<Int> = []
    /// A batch arrived since our last message to the peer.
    private(set) var ackOwed = false

    init(peer: String) { self.peer = peer }

    var hasDirtyKeys: Bool { !dirtyOrder.isEmpty }

    func markDirty(_ key: String) {
        if dirtySet.insert(key).inserted { dirtyOrder.append(key) }
    }

    /// When this link next has something to send: new entries or an owed acknowledgement after
    /// the batching interval, or the oldest unacknowledged batch's resend time. nil: nothing.
    func nextSendTime(interval: Micros, retransmitTimeout: Micros) -> Micros? {
        var t: Micros?
        if hasDirtyKeys || ackOwed { t = (lastSentAt ?? .min / 2) + interval }
        if let oldest = unacked.map(\.lastSentAt).min() {
            let resend = oldest + retransmitTimeout
            t = t.map { min($0, resend) } ?? resend
        }
        return t
    }

    /// Builds what to send now: batches due for resending, then one new batch from the dirty
    /// keys (up to `maxEntries` entries in all; the rest stays dirty for the next message).
    func takeMessage(now: Micros, retransmitTimeout: Micros, maxEntries: Int,
                     logs: [String: KafkaKeyLog]) -> (ack: Int, batches: [Batch]) {
        var out: [Batch] = []
        var budget = maxEntries
        for i in unacked.indices where unacked[i].lastSentAt + retransmitTimeout <= now && budget > 0 {
            unacked[i].lastSentAt = now
            budget -= unacked[i].entryCount
            out.append(unacked[i])
        }
        var runs: [Run] = []
        var stillDirty: [String] = []
        for key in dirtyOrder {
            guard let log = logs[key] else { continue }
            let from = shipped[key] ?? 0
            guard from < log.count else { continue }
            guard budget > 0 else { stillDirty.append(key); continue }
            let to = min(log.count, from + budget)
            runs.append(Run(key: key, start: from, messages: Array(log.messages[from..<to])))
            shipped[key] = to
            budget -= to - from
            if to < log.count { stillDirty.append(key) }
        }
        dirtyOrder = stillDirty
        dirtySet = Set(stillDirty)
        if !runs.isEmpty {
            let batch = Batch(seq: nextSeq, runs: runs, lastSentAt: now)
            nextSeq += 1
            unacked.append(batch)
            out.append(batch)
        }
        ackOwed = false
        lastSentAt = now
        return (receivedThrough, out)
    }

    /// The peer received every batch up to `seq`.
    func acknowledged(through seq: Int) {
        unacked.removeAll { $0.seq <= seq }
    }

    /// Records an incoming batch; true if it is new (to be applied), false for a repeat.
    func receive(batch seq: Int) -> Bool {
        ackOwed = true // also for a repeat: the peer resends because it missed our ack
        guard seq > receivedThrough, !receivedAbove.contains(seq) else { return false }
        receivedAbove.insert(seq)
        while receivedAbove.remove(receivedThrough + 1) != nil { receivedThrough += 1 }
        return true
    }
}

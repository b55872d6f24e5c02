import EVCore

/// Durable mode's settings (`evnode --durable` or `EVNODE_DURABLE=1`; docs/faults.md).
public struct DurabilityConfig: Sendable {
    /// Store every acknowledged write in a kv service before acknowledging it.
    public var enabled = false
    /// The service: lin-kv, whose reads are never stale, so recovery sees every stored chunk.
    public var service = KVClient.linKV
    /// Least time between two group commits: writes acknowledged in between share one kv write.
    public var commitInterval: Micros = .ms(10)
    /// Chunks read in parallel while recovering.
    public var readWindow = 64
    /// Compaction: after this many chunks past the last snapshot, the owner's state is written as
    /// a snapshot that replaces them on recovery (so recovery reads scale with the state).
    public var compactEvery = 32
    /// Wait before retrying a kv call that failed or timed out.
    public var retryDelay: Micros = .ms(100)
    public var timeout: Micros = .ms(1000)
    public init() {}
}

/// A node's own writes, kept in a kv service that no node fault touches, so that a killed node's
/// acknowledged writes survive it. The same entries and codec as the node's `Replicator`; used
/// through `ReplicatedState`, and by `Raft` for its term, vote and log.
///
/// - **Group commit.** `store` queues entries with a completion; one kv write per commit carries
///   everything queued since the last one, at most one commit in flight and one per
///   `commitInterval`. Completions run in order, once the write is confirmed; a failed or timed-out
///   write is retried with the same content, so it is idempotent.
/// - **Layout.** Chunk n of a node is key `evnode/<name>/<node>/<n>`, an array of entries. Chunks are
///   written strictly one after another and never removed, so chunks 0..<k exist and k does not.
/// - **Recovery.** A new process reads every node's chunks, each log in growing windows until its
///   first missing chunk, hands every entry to `recover`'s callback, and continues numbering after
///   its own. Nothing is committed before that, so no chunk is overwritten.
public final class DurableLog<Entry: ReplicatedEntry> {
    public let config: DurabilityConfig
    public private(set) var isRecovered = false
    public private(set) var stats = Stats()

    public struct Stats: Sendable, Equatable {
        public var commits = 0, entriesStored = 0, retries = 0, chunksRecovered = 0, entriesRecovered = 0
        /// Chunks found holding a killed predecessor's late write (skipped, not overwritten).
        public var chunksTaken = 0
        public var snapshots = 0, snapshotsRecovered = 0
    }

    private unowned let node: Node
    private let name: String
    private var pending: [(entries: [Entry], done: () -> Void)] = []
    private var nextChunk = 0
    private var committing = false
    /// Waiting for the commit in flight (`afterStored` while nothing else is pending).
    private var afterCommit: [() -> Void] = []
    /// Compaction: the owner's whole state as entries (nil: never compacted), the first chunk the
    /// stored snapshot does not cover, and whether a snapshot write is out.
    public var snapshot: (() -> [Entry])?
    private var snapshotFrom = 0
    private var snapshotting = false
    private var commitArmed = false
    private var lastCommitAt: Micros = .min / 2

    public init(node: Node, name: String, config: DurabilityConfig) {
        self.node = node
        self.name = name
        self.config = config
    }

    /// The workload's store in durable mode, already recovering: `recovered` gets what earlier
    /// processes of every node (or, with `everyNode` false, of this node only) stored. nil when
    /// durable mode is off.
    public static func open(node: Node, name: String, config: DurabilityConfig, everyNode: Bool = true,
                            recovered: @escaping ([Entry]) -> Void) -> DurableLog? {
        guard config.enabled else { return nil }
        let log = DurableLog(node: node, name: name, config: config)
        log.recover(everyNode: everyNode, recovered)
        return log
    }

    private func key(_ chunk: Int, of owner: String? = nil) -> String { "evnode/\(name)/\(owner ?? node.id)/\(chunk)" }

    // MARK: storing

    /// Stores `entries`; `done` runs once they are in the kv service.
    public func store(_ entries: [Entry], then done: @escaping () -> Void) {
        pending.append((entries, done))
        scheduleCommit()
    }

    /// Runs `done` once everything handed to `store` so far is stored (now, if it is), without
    /// a write of its own.
    public func afterStored(_ done: @escaping () -> Void) {
        if let last = pending.indices.last {
            let earlier = pending[last].done
            pending[last].done = { earlier(); done() }
        } else if committing {
            afterCommit.append(done)
        } else {
            done()
        }
    }

    private func scheduleCommit() {
        guard isRecovered, !committing, !commitArmed, !pending.isEmpty else { return }
        commitArmed = true
        let at = max(node.now, lastCommitAt + config.commitInterval)
        node.after(at - node.now) { [weak self] in
            guard let self else { return }
            self.commitArmed = false
            self.commit(Array(self.pending), chunk: self.nextChunk)
            self.pending.removeAll()
        }
    }

    /// Writes a batch as chunk `chunk` with a create-only compare-and-set (from and to both the
    /// content): it succeeds if the chunk is new or already holds exactly this content (a retry of
    /// a write whose answer was lost), and fails with 22 if it holds anything else — a write a
    /// killed predecessor sent to the same chunk that landed late. Then the batch moves to the next
    /// chunk: no chunk is ever overwritten, whichever write lands first.
    private func commit(_ batch: [(entries: [Entry], done: () -> Void)], chunk: Int) {
        committing = true
        lastCommitAt = node.now
        let write = { (w: inout JSONWriter) in
            for item in batch { for e in item.entries { e.write(into: &w) } }
        }
        node.rpc(to: config.service, timeout: config.timeout, { w in
            w.field("type", "cas")
            w.field("key", self.key(chunk))
            w.arrayField("from", write)
            w.arrayField("to", write)
            w.field("create_if_not_exists", true)
        }, callback: { [weak self] result in
            guard let self else { return }
            switch result {
            case .ok:
                break
            case .error(.preconditionFailed, _):
                self.stats.chunksTaken += 1
                self.node.logger.warning("chunk \(self.key(chunk)) holds another process's write; storing at the next one")
                return self.commit(batch, chunk: chunk + 1)
            default:
                // Not known to be stored: the same chunk again (the write is idempotent).
                self.stats.retries += 1
                self.node.after(self.config.retryDelay) { [weak self] in self?.commit(batch, chunk: chunk) }
                return
            }
            self.stats.commits += 1
            self.stats.entriesStored += batch.reduce(0) { $0 + $1.entries.count }
            self.nextChunk = chunk + 1
            self.committing = false
            for item in batch { item.done() }
            let waiting = self.afterCommit
            self.afterCommit.removeAll()
            for done in waiting { done() }
            self.compactIfDue()
            self.scheduleCommit()
        })
    }

    /// Writes the owner's state as the snapshot covering every chunk before `nextChunk`. Chunks
    /// are never removed, so a snapshot that lands late from a killed process (covering fewer
    /// chunks) only makes recovery read more of them.
    private func compactIfDue() {
        // The owner's state may hold entries still queued for later chunks (Raft's log does): a
        // snapshot then would have recovery replay them on top of it a second time. So only
        // with nothing queued, when the state is exactly what the chunks before `nextChunk` hold.
        guard let snapshot, !snapshotting, pending.isEmpty, nextChunk - snapshotFrom >= max(config.compactEvery, 1) else { return }
        snapshotting = true
        let from = nextChunk, entries = snapshot()
        node.rpc(to: config.service, timeout: config.timeout, { w in
            w.field("type", "write")
            w.field("key", self.snapshotKey(of: self.node.id))
            w.objectField("value") { v in
                v.field("from", from)
                v.arrayField("v") { a in for e in entries { e.write(into: &a) } }
            }
        }, callback: { [weak self] result in
            guard let self else { return }
            self.snapshotting = false
            if case .ok = result {
                self.stats.snapshots += 1
                self.snapshotFrom = from
            } // else the next commit tries again
        })
    }

    private func snapshotKey(of owner: String) -> String { "evnode/\(name)/\(owner)/snapshot" }

    // MARK: recovering

    /// Reads every entry earlier processes of every node stored (this node's own chunks first,
    /// each log in order), then calls `done` with them and starts committing. Other nodes' logs
    /// are read too because a peer's entries that this node showed its clients must be back
    /// before it answers again, even if that peer is down; merges are idempotent, so reading
    /// a log that is still growing only yields a prefix of it.
    public func recover(everyNode: Bool = true, _ done: @escaping ([Entry]) -> Void) {
        let owners = [node.id] + (everyNode ? node.nodeIDs.filter { $0 != node.id } : [])
        var logs = [[Entry]](repeating: [], count: owners.count)
        var outstanding = owners.count
        for (i, owner) in owners.enumerated() {
            let r = Recovery(owner: owner) { [weak self] r, found in
                guard let self else { return }
                logs[i] = r.snapshot + (r.start..<found).flatMap { r.chunks[$0] ?? [] }
                self.stats.chunksRecovered += found - r.start
                if i == 0 {
                    self.nextChunk = found
                    self.snapshotFrom = r.start
                }
                outstanding -= 1
                guard outstanding == 0 else { return }
                let entries = logs.flatMap { $0 }
                self.stats.entriesRecovered = entries.count
                self.isRecovered = true
                done(entries)
                self.scheduleCommit()
            }
            readSnapshot(r)
        }
    }

    /// What recovery has read so far of one node's log, shared by the callbacks of its reads.
    private final class Recovery {
        let owner: String
        /// The latest snapshot's entries and the first chunk it does not cover.
        var snapshot: [Entry] = []
        var start = 0
        var chunks: [Int: [Entry]] = [:]
        var windowEnd = 0
        var outstanding = 0
        var missing: Int?
        let finish: (Recovery, Int) -> Void
        init(owner: String, finish: @escaping (Recovery, Int) -> Void) {
            self.owner = owner
            self.finish = finish
        }
    }

    /// Reads the owner's snapshot, then the chunks after it.
    private func readSnapshot(_ r: Recovery) {
        let key = snapshotKey(of: r.owner)
        node.rpc(to: config.service, timeout: config.timeout, { w in
            w.field("type", "read")
            w.field("key", key)
        }, callback: { [weak self] result in
            guard let self else { return }
            switch result {
            case .ok(let m):
                let value = m.body["value"]
                var bad = false
                if let from = value["from"].int, from >= 0 {
                    value["v"].forEachElement { e in if let entry = Entry(json: e) { r.snapshot.append(entry) } else { bad = true } }
                    r.start = from
                    self.stats.snapshotsRecovered += 1
                } else {
                    bad = true
                }
                if bad {
                    // Chunks are never removed: without the snapshot, all of them are read.
                    self.node.logger.error("snapshot \(key) is damaged; recovering from the chunks alone")
                    r.snapshot = []
                    r.start = 0
                }
            case .error(.keyDoesNotExist, _):
                break
            default:
                self.stats.retries += 1
                self.node.after(self.config.retryDelay) { [weak self] in self?.readSnapshot(r) }
                return
            }
            r.windowEnd = r.start
            self.readWindow(r)
        })
    }

    /// Reads the next window of chunks in parallel. Windows start at one chunk (a fresh cluster
    /// has none: one read) and double up to `readWindow`.
    private func readWindow(_ r: Recovery) {
        let first = r.windowEnd
        r.windowEnd += min(max(first - r.start, 1), max(config.readWindow, 1))
        r.outstanding = r.windowEnd - first
        for i in first..<r.windowEnd { read(i, r) }
    }

    private func read(_ chunk: Int, _ r: Recovery) {
        let chunkKey = key(chunk, of: r.owner)
        node.rpc(to: config.service, timeout: config.timeout, { w in
            w.field("type", "read")
            w.field("key", chunkKey)
        }, callback: { [weak self] result in
            guard let self else { return }
            switch result {
            case .ok(let m):
                var entries: [Entry] = []
                var bad = false
                m.body["value"].forEachElement { e in
                    if let entry = Entry(json: e) { entries.append(entry) } else { bad = true }
                }
                if bad { self.node.logger.error("chunk \(chunkKey) holds undecodable entries; they are skipped") }
                r.chunks[chunk] = entries
            case .error(.keyDoesNotExist, _):
                r.missing = min(r.missing ?? chunk, chunk)
            default:
                self.stats.retries += 1
                self.node.after(self.config.retryDelay) { [weak self] in self?.read(chunk, r) }
                return
            }
            r.outstanding -= 1
            guard r.outstanding == 0 else { return }
            if let missing = r.missing { r.finish(r, missing) } else { self.readWindow(r) }
        })
    }
}

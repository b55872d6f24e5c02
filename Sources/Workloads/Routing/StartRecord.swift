import EVCore

/// This process's start record: how a process tells a restart from a fresh start, as a pure state
/// machine (kv answers in, kv requests and decisions out; `Router` is its driver).
///
/// A process started after a kill gets only `init`, not the messages that told its predecessor its
/// workload. So every process keeps a record of its own in lin-kv, `evnode/node/<id>`, holding its
/// incarnation and the workloads it runs. A record written by another incarnation means this
/// process replaces one that ran here: it reopens those workloads at once, as restarted
/// (`Workload.joined(restarted: true)`). No record means no process of this node ever answered a
/// workload's message, so this one starts fresh. What peers write is never read here: a peer that
/// started a moment earlier says nothing about this process.
///
/// Two rules make "no record" a proof:
/// - A workload runs only once it is *recorded*: the record naming it is confirmed stored
///   (`isRecorded`). Until then its messages are held, so a process killed before its record
///   landed answered nothing its successor must remember.
/// - The record is written by compare-and-set from the value last read (create when none is
///   known), so a write of a killed predecessor still in flight cannot overwrite it, and a write
///   of ours that timed out is recognised by its incarnation when the key is read.
///
/// Cost: one lin-kv round trip per process start. The first workload to record is written by a
/// create-if-missing compare-and-set: it succeeds on a fresh start, so one round trip both proves
/// the start fresh and stores the record; it fails (22) only on a restart, which then reads the
/// record. A process that has nothing to record within `lookAhead` of init reads its record then,
/// so that a restarted one reopens its workloads even when no message would open them. A read that
/// fails for another reason than a missing key (a timeout, a pause) is retried, never taken for
/// "fresh": a restarted kafka owner taking itself for fresh would hand out offsets again.
struct StartRecord {
    struct Content: Equatable {
        var incarnation: Int
        var workloads: Set<WorkloadKind>

        var json: JSONValue {
            ["incarnation": .int(incarnation),
             "workloads": .array(workloads.map(\.rawValue).sorted().map { .string($0) })]
        }

        /// A stored record (a name this node has no workload of opens nothing).
        init?(_ value: JSONValue) {
            guard let incarnation = value["incarnation"]?.int, let names = value["workloads"]?.array else { return nil }
            self.incarnation = incarnation
            workloads = Set(names.compactMap { $0.string.map { WorkloadKind($0).implementation } })
        }

        init(incarnation: Int, workloads: Set<WorkloadKind>) {
            self.incarnation = incarnation
            self.workloads = workloads
        }
    }

    /// What the driver does next.
    enum Effect: Equatable {
        /// Call `lookUp` after `delay`.
        case wake(after: Micros)
        /// Read the key, after `delay`.
        case read(after: Micros)
        /// Compare-and-set the key from `from` (nil: create it) to `to`.
        case write(from: JSONValue?, to: JSONValue)
        /// These workloads are recorded: open each that is not open yet.
        case recorded(Set<WorkloadKind>)
    }

    private enum Phase: Equatable { case idle, reading, writing(Content) }

    static let retryDelay: Micros = .ms(500)
    /// How long after init a process with nothing to record reads its record anyway.
    static let lookAhead: Micros = .seconds(1)

    let key: JSONValue
    let incarnation: Int
    private var phase = Phase.idle
    /// Whether this process knows if it is a restart (the key was read, or created by us).
    private(set) var known = false
    /// The predecessor's record, if this process is a restart.
    private(set) var predecessor: Content?
    /// The key's value as last read or written, which the next write must compare with.
    private var stored: JSONValue?
    /// What lin-kv holds for this incarnation, as confirmed.
    private var confirmed: Set<WorkloadKind> = []
    /// Workloads this process needs recorded.
    private var wanted: Set<WorkloadKind> = []

    init(nodeID: String, incarnation: Int) {
        key = Self.key(of: nodeID)
        self.incarnation = incarnation
    }

    static func key(of nodeID: String) -> JSONValue { .string("evnode/node/\(nodeID)") }

    /// Whether `kind` was a workload of the process this one replaces.
    func wasRunBefore(_ kind: WorkloadKind) -> Bool { predecessor?.workloads.contains(kind) ?? false }

    /// Whether `kind` may run: the record naming it is stored.
    func isRecorded(_ kind: WorkloadKind) -> Bool { confirmed.contains(kind) }

    /// At init: whatever the process learns first, its first workload to record or `lookAhead`.
    mutating func start() -> [Effect] {
        precondition(phase == .idle && !known && wanted.isEmpty, "one start per process")
        return [.wake(after: Self.lookAhead)]
    }

    /// `lookAhead` after init: reads the record unless something already did or is doing so.
    mutating func lookUp() -> [Effect] {
        guard phase == .idle && !known else { return [] }
        phase = .reading
        return [.read(after: 0)]
    }

    /// `kind` has a message to run: record it (now, or once the current request is answered).
    mutating func need(_ kind: WorkloadKind) -> [Effect] {
        guard !wanted.contains(kind) else { return [] }
        wanted.insert(kind)
        return phase == .idle ? writeIfNeeded() : []
    }

    mutating func readAnswered(_ result: KVResult) -> [Effect] {
        precondition(phase == .reading, "a read answer without a read")
        var effects: [Effect] = []
        switch result {
        case .ok(let value):
            let value = value ?? .null
            stored = value
            if let content = Content(value), content.incarnation == incarnation {
                confirmed = content.workloads // a write of ours that timed out had landed
                effects.append(.recorded(confirmed))
            } else {
                // Another incarnation wrote it: ours replaces that one. Unreadable content still
                // proves a predecessor; it names no workload to reopen.
                assert(confirmed.isEmpty, "after our write, only our incarnation writes the key")
                predecessor = Content(value) ?? Content(incarnation: 0, workloads: [])
                wanted.formUnion(predecessor!.workloads)
            }
        case .error(.keyDoesNotExist, _):
            assert(predecessor == nil && confirmed.isEmpty, "a record, once written, is never removed")
            stored = nil
        case .error, .timeout:
            return [.read(after: Self.retryDelay)]
        }
        known = true
        phase = .idle
        return effects + writeIfNeeded()
    }

    mutating func writeAnswered(_ result: KVResult) -> [Effect] {
        guard case .writing(let content) = phase else { preconditionFailure("a write answer without a write") }
        switch result {
        case .ok:
            stored = content.json
            confirmed = content.workloads
            known = true // created, or written from what was read: either way no predecessor is unknown
            phase = .idle
            return [.recorded(confirmed)] + writeIfNeeded()
        case .error(.preconditionFailed, _), .timeout:
            // Someone else's write landed first, or ours may have: read what is there.
            phase = .reading
            return [.read(after: 0)]
        case .error:
            phase = .reading
            return [.read(after: Self.retryDelay)]
        }
    }

    /// Writes the wanted workloads, from the value last read, or by creating the key when nothing
    /// was read yet.
    private mutating func writeIfNeeded() -> [Effect] {
        assert(phase == .idle)
        guard !wanted.isSubset(of: confirmed) else { return [] }
        let content = Content(incarnation: incarnation, workloads: wanted)
        phase = .writing(content)
        return [.write(from: stored, to: content.json)]
    }
}
